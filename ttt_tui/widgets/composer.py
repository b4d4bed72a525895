"""Where prompts are written: a multi-line editor with Enter to send and a prompt history."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from ttt.core.sanitize import terminal_safe


class Composer(TextArea):
    """Enter sends; Shift+Enter or Ctrl+J inserts a newline; Up/Down on an empty composer walk history.

    The text stays in the composer until the app confirms the prompt was taken (``clear_sent``),
    so a failed send never loses what was typed.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", id="composer.send", priority=True),
        Binding("shift+enter,ctrl+j", "newline", "Newline", id="composer.newline", priority=True, show=False),
        Binding(
            "up", "history(-1)", "Previous prompt", id="composer.history_prev", priority=True, show=False
        ),
        Binding("down", "history(1)", "Next prompt", id="composer.history_next", priority=True, show=False),
    ]

    class Submitted(Message):
        """The user asked to send ``text``."""

        def __init__(self, composer: Composer, text: str) -> None:
            super().__init__()
            self.composer = composer
            self.text = text

        @property
        def control(self) -> Composer:
            return self.composer

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.prompts: list[str] = []
        self._position: int | None = None  # index into history while walking it

    def on_mount(self) -> None:
        self.placeholder = "Ask anything · Enter to send · Shift+Enter for a newline"

    async def _on_paste(self, event: events.Paste) -> None:
        """A paste is outside text (a web page, a log): its control sequences would reach the
        screen as the composer draws it, so it goes in terminal-safe."""
        event.text = terminal_safe(event.text)
        await super()._on_paste(event)

    # Enter and Shift+Enter are priority bindings, run by the app as soon as the key arrives, while
    # keys typed just before them (a fast typist, a paste without bracketed paste, tmux send-keys)
    # may still wait in this widget's queue: act after those, so nothing is sent half or cleared.

    def action_submit(self) -> None:
        self.call_later(self._submit)

    def _submit(self) -> None:
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self.call_later(self.insert, "\n")

    def clear_sent(self, text: str) -> None:
        """The prompt was accepted: remember it and empty the composer."""
        if not self.prompts or self.prompts[-1] != text:
            self.prompts.append(text)
        self._position = None
        self.clear()

    def action_history(self, step: int) -> None:
        walking = self._position is not None and self.text == self.prompts[self._position]
        if not self.prompts or not (self.text == "" or walking):
            raise SkipAction()
        if self._position is None:
            if step > 0:
                raise SkipAction()
            position = len(self.prompts) - 1
        else:
            position = self._position + step
        if position >= len(self.prompts):
            self._position = None
            self.clear()
            return
        self._position = max(0, position)
        self.load_text(self.prompts[self._position])
        self.move_cursor(self.document.end)
