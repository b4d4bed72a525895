"""The session list on the left, with a filter that searches titles and message text as you type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ttt_tui.controller import SessionRecord


class SessionSidebar(Vertical):
    """Posts ``Selected`` and ``FilterChanged``; the app owns the sessions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "session('rename')", "Rename", id="session.rename"),
        Binding("delete,d", "session('delete')", "Delete", id="session.delete"),
        Binding("a", "session('archive')", "Archive", id="session.archive"),
    ]

    class Selected(Message):
        def __init__(self, session_id: str) -> None:
            super().__init__()
            self.session_id = session_id

    class FilterChanged(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Command(Message):
        """Rename / delete / archive asked for the highlighted session."""

        def __init__(self, command: str, session_id: str) -> None:
            super().__init__()
            self.command = command
            self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Filter sessions…", id="session-filter", compact=True)
        yield OptionList(id="session-list")

    def show(self, sessions: Sequence[SessionRecord], current_id: str) -> None:
        listing = self.query_one(OptionList)
        listing.set_options(Option(_label(s), id=s.id) for s in sessions)
        ids = [s.id for s in sessions]
        if current_id in ids:
            listing.highlighted = ids.index(current_id)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.FilterChanged(event.value))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Selected(event.option.id))

    def action_session(self, command: str) -> None:
        listing = self.query_one(OptionList)
        if listing.highlighted is not None:
            option = listing.get_option_at_index(listing.highlighted)
            if option.id:
                self.post_message(self.Command(command, option.id))


def _label(session: SessionRecord) -> Text:
    label = Text(session.title, no_wrap=True, overflow="ellipsis")
    if session.model:
        label.append(f"\n{session.model}", style="dim")
    return label
