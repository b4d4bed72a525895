"""Small modals: approve a tool call, confirm a deletion, ask for a line of text."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from ttt.core.types import ToolCall


class ApprovalScreen(ModalScreen[str]):
    """A tool needs permission: dismisses with yes | no | always (Esc denies)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('yes')", "Approve", id="approve.yes"),
        Binding("n,escape", "answer('no')", "Deny", id="approve.no"),
        Binding("a", "answer('always')", "Always", id="approve.always"),
    ]

    def __init__(self, call: ToolCall, description: str = "") -> None:
        super().__init__()
        self.call = call
        self.description = description

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Text.assemble(("Run tool ", "bold"), (self.call.name, "bold underline"), ("?", "bold"))
            )
            if self.description:
                yield Static(Text(self.description, style="dim"))
            yield Static(
                JSON(json.dumps(self.call.arguments, ensure_ascii=False), indent=2), classes="dialog-body"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve (y)", id="yes", variant="success")
                yield Button("Deny (n)", id="no", variant="error")
                yield Button("Always (a)", id="always")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "no")

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "dismiss(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question, style="bold"))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextScreen(ModalScreen[str | None]):
    """Ask for text (a title, a system prompt); Esc cancels with ``None``."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="text.cancel"),
        Binding("ctrl+s", "save", "Save", id="text.save"),
    ]

    def __init__(self, title: str, value: str = "", *, multiline: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.multiline = multiline

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"))
            if self.multiline:
                yield TextArea(self.value, id="text-value", classes="dialog-body")
                yield Static(Text("Ctrl+S to save · Esc to cancel", style="dim"))
            else:
                yield Input(self.value, id="text-value")

    def on_mount(self) -> None:
        widget = self.query_one("#text-value")
        widget.focus()
        if isinstance(widget, Input):
            widget.select_all()  # typing replaces the old value; an arrow key keeps it

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_save(self) -> None:
        widget = self.query_one("#text-value")
        self.dismiss(widget.text if isinstance(widget, TextArea) else widget.value)  # type: ignore[attr-defined]
