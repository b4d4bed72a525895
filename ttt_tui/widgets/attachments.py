"""The files attached to the next prompt, as chips above the composer; click a chip to drop it."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.containers import Horizontal
from textual.events import Click
from textual.widgets import Static


class AttachmentChip(Static):
    def __init__(self, path: str) -> None:
        super().__init__(Text.assemble(("📎 ", ""), (Path(path).name, "bold"), ("  ✕", "dim")))
        self.path = path
        self.tooltip = f"{path} — click to remove"

    def on_click(self, event: Click) -> None:
        event.stop()
        bar = self.parent
        if isinstance(bar, AttachmentBar):
            bar.remove_path(self.path)


class AttachmentBar(Horizontal):
    """Hidden while nothing is attached."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.paths: list[str] = []

    def on_mount(self) -> None:
        self.display = False

    def add_path(self, path: str) -> None:
        if path not in self.paths:
            self.paths.append(path)
            self.mount(AttachmentChip(path))
        self.display = True

    def remove_path(self, path: str) -> None:
        self.paths = [p for p in self.paths if p != path]
        for chip in self.query(AttachmentChip):
            if chip.path == path:
                chip.remove()
        self.display = bool(self.paths)

    def clear(self) -> None:
        self.paths = []
        self.remove_children()
        self.display = False
