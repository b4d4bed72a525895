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

from ttt_tui.controller import MARKS, SessionItem


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

    def show(self, sessions: Sequence[SessionItem], current_id: str) -> None:
        listing = self.query_one(OptionList)
        width = max((listing.scrollable_content_region.width or 28) - 2, 12)
        listing.set_options(Option(_label(s, width), id=s.id) for s in sessions)
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


def _label(session: SessionItem, width: int) -> Text:
    """The title, then a search match (around its first matched word) or the model; one line each."""
    label = _line(marked(session.title), width)
    if session.snippet:
        snippet = marked(session.snippet, style="dim")
        first = next((span.start for span in snippet.spans if "reverse" in str(span.style)), 0)
        if first > 8:
            snippet = Text("…", style="dim") + snippet[first - 6 :]
        label.append("\n")
        label.append_text(_line(snippet, width))
    elif session.model or session.archived:
        extra = session.model + ("  (archived)" if session.archived else "")
        label.append("\n")
        label.append_text(_line(Text(extra.strip(), style="dim"), width))
    return label


def _line(text: Text, width: int) -> Text:
    text.truncate(width, overflow="ellipsis")
    return text


def marked(text: str, style: str = "") -> Text:
    """Search text with its matched words (between ``MARKS``) highlighted; never read as markup."""
    start, end = MARKS
    result = Text(style=style)
    for number, piece in enumerate(text.replace(end, start).split(start)):
        result.append(piece, style="bold reverse" if number % 2 else "")
    return result
