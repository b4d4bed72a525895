"""Ctrl+A: pick a file to attach to the next prompt — type a path or choose it in the tree."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Static


class AttachScreen(ModalScreen[str | None]):
    """Dismisses with the chosen path, or ``None`` (Esc)."""

    CSS_PATH = "attach.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", id="attach.cancel")]

    def __init__(self, root: Path | None = None) -> None:
        super().__init__()
        self.root = root or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="attach-box"):
            yield Static(Text("Attach a file", style="bold"))
            yield Input(placeholder="Path to a text file or an image · Enter to attach", id="attach-path")
            yield DirectoryTree(self.root, id="attach-tree")
            yield Static(Text("Images go to the model as images; text files into the prompt.", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(str(event.path))
