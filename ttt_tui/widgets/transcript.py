"""The conversation, newest at the bottom; older messages mount only when scrolled to.

Mounting every message of a long session costs seconds and hundreds of MB, so the transcript
shows the newest page and asks for the previous page (``NeedOlder``) when the top is reached,
and lets pages far below go (``NeedNewer`` brings them back).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Static

from ttt.core.session.store import StoredMessage
from ttt.core.types import ToolResult
from ttt_tui.widgets.inspector import STATUS_STYLE, result_status
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage

PAGE = 20  # messages fetched at a time
KEEP = 3  # pages mounted at most


OUTCOME_STYLE = {"ok": "green", "denied": "yellow", "failed": "red"}
MARKS = {"stopped": "■ stopped", "interrupted": "■ interrupted (ttt was closed while it streamed)"}


def views_for(messages: Sequence[StoredMessage]) -> list[MessageView]:
    """Widgets for stored messages (``index`` = message id); tool results go on the reply that asked."""
    views: list[MessageView] = []
    results = {r.call_id: r for m in messages for r in m.to_message().tool_results}
    for stored in messages:
        message = stored.to_message()
        if message.role == "user":
            views.append(UserMessage(message.text, index=stored.id))
        elif message.role == "assistant":
            thinking = "".join(p.text for p in message.parts if p.type == "thinking")
            stopped = stored.status != "complete"  # its turn ended before the calls without a result ran
            lines = [
                tool_line(c.name, results.get(c.id), _unrun(c.id, results, stopped))
                for c in message.tool_calls
            ]
            view = AssistantMessage(
                message.text, model=stored.model, thinking=thinking, tool_lines=lines, index=stored.id
            )
            if stored.status == "error":
                view.initial_mark = (f"⚠ {stored.error or 'the reply failed'}", True)
            elif stored.status in MARKS:
                view.initial_mark = (MARKS[stored.status], False)
            views.append(view)
    return views


def _unrun(call_id: str, results: dict[str, ToolResult], stopped: bool) -> str:
    """Why a stored call has no result: its turn ended before it ran."""
    return STATUS_STYLE["stopped"][1] if stopped and call_id not in results else ""


def span(messages: Sequence[StoredMessage]) -> tuple[int, int] | None:
    """(first, last) ids of a page of stored messages."""
    return (messages[0].id, messages[-1].id) if messages else None


def tool_line(name: str, result: ToolResult | None, status: str = "") -> Text:
    """``⚙ name  ok 0.2s`` — one line for a tool call under its reply."""
    line = Text("⚙ ", style="dim")
    line.append(name, style="bold")
    if status:
        line.append(f"  {status}", style="dim")
    elif result is not None:
        outcome = result_status(result)
        line.append(f"  {outcome}", style=OUTCOME_STYLE[outcome])
        line.append(f" {result.duration:.1f}s", style="dim")
    return line


@dataclass
class Page:
    """Views of consecutive stored messages ``first``..``last`` (ids) of the branch shown.
    ``last`` is None while the page grows with the turns of this run."""

    views: list[Widget]
    first: int | None = None
    last: int | None = None

    def stored_span(self) -> tuple[int, int] | None:
        """(first, last) ids to fetch this page again by; None while it can't be (a reply on it
        still streams, or nothing on it is stored)."""
        if self.first is None:
            return None
        if self.last is not None:
            return self.first, self.last
        if any(isinstance(v, AssistantMessage) and v.streaming for v in self.views):
            return None
        ids = [v.index for v in self.views if isinstance(v, MessageView) and v.index is not None]
        return (self.first, max(ids)) if ids else None


class ContextMark(Static):
    """Where the model's view of the conversation starts: the turns above it were summarised or
    left out to fit the window (they stay here and in the store)."""

    DEFAULT_CSS = """
    ContextMark { color: $text-muted; border-top: dashed $warning; padding: 0 1; margin: 1 0; }
    """


class Transcript(VerticalScroll):
    """Message views plus, for an empty session, whatever placeholder the app gives it.

    At most ``KEEP`` pages are mounted: scrolling up past them lets the newest page go (asked
    for again, by id, when scrolling back down), so memory stays bounded however far you read.
    """

    class NeedOlder(TextualMessage):
        """Scrolled to the top while older messages exist before message ``before`` (an id)."""

        def __init__(self, before: int) -> None:
            super().__init__()
            self.before = before

    class NeedNewer(TextualMessage):
        """Scrolled to the bottom while newer pages were let go: the next is ``first``..``last``."""

        def __init__(self, first: int, last: int) -> None:
            super().__init__()
            self.first, self.last = first, last

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.has_older = False
        self._pages: list[Page] = []
        self._newer: list[tuple[int, int]] = []  # (first, last) of pages let go below, nearest last
        self._asked = False
        self._mark: tuple[int, Text] | None = None  # (the prompt it goes above, what it says)

    @property
    def first_index(self) -> int | None:
        """Id of the oldest message shown."""
        return self._pages[0].first if self._pages else None

    @property
    def has_newer(self) -> bool:
        return bool(self._newer)

    async def show(
        self, views: Sequence[Widget], has_older: bool = False, span: tuple[int, int] | None = None
    ) -> None:
        """Replace everything with ``views``, the newest page of a session; messages stick to the bottom."""
        first, last = span or (None, None)
        self._pages = [Page(list(views), first, last)]
        self._newer.clear()
        self.has_older = has_older and span is not None
        self._asked = False
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all(views)
        messages = any(isinstance(view, MessageView) for view in views)
        self.anchor(messages)
        if not messages:
            self.release_anchor()
            self.scroll_home(animate=False, immediate=True)  # deferred, it would undo a later anchor
        await self._place_mark()

    async def prepend(
        self, views: Sequence[MessageView], has_older: bool, span: tuple[int, int] | None
    ) -> None:
        """An older page goes on top without moving what the user is reading."""
        self.has_older = has_older and span is not None
        if views and span is not None:
            await self._keeping_place(self.children[0], self.mount_all(views, before=0))
            self._pages.insert(0, Page(list(views), *span))
            while len(self._pages) > KEEP and (gone := self._pages[-1].stored_span()) is not None:
                self._newer.append(gone)
                await self.remove_children(self._pages.pop().views)
            await self._place_mark()
        self._asked = False

    async def append(self, views: Sequence[MessageView], span: tuple[int, int]) -> None:
        """A newer page let go before comes back below, without moving what the user is reading."""
        if self._newer and self._newer[-1] == span:
            self._newer.pop()
            if not views:
                return
            await self.mount_all(views)
            self._pages.append(Page(list(views), *span))
            if len(self._pages) > KEEP:
                await self._keeping_place(
                    self._pages[1].views[0], self.remove_children(self._pages.pop(0).views)
                )
                self.has_older = True
            await self._place_mark()
        self._asked = False

    async def mark_context(self, before: int | None, text: Text) -> None:
        """Put the context mark above the prompt with stored id ``before`` (None: no mark); it
        follows that prompt as pages come and go."""
        self._mark = None if before is None else (before, text)
        await self._place_mark()

    async def _place_mark(self) -> None:
        await self.remove_children(ContextMark)
        if self._mark is None:
            return
        before, text = self._mark
        target = next((v for v in self.query_children(UserMessage) if v.index == before), None)
        if target is not None:
            await self.mount(ContextMark(text), before=target)

    async def _keeping_place(self, landmark: Widget, change: Awaitable[object]) -> None:
        """Do ``change`` above ``landmark`` and scroll by as much as it moved, once laid out."""
        before = landmark.virtual_region.y
        await change

        def keep_place() -> None:
            moved = landmark.virtual_region.y - before
            self.scroll_to(y=self.scroll_y + moved, animate=False, immediate=True)
            self._at_edge(self.scroll_y)  # still at the edge (nothing moved): the next page

        self.call_after_refresh(keep_place)

    async def add(self, view: Widget, follow: bool = False) -> None:
        """Append ``view``; the transcript follows the bottom while the user is at the bottom, and
        from wherever they were with ``follow`` (their own prompt)."""
        at_bottom = follow or self.is_anchored or self.scroll_y >= self.max_scroll_y
        await self.mount(view)
        if self._pages:
            self._pages[-1].views.append(view)
            self._pages[-1].last = None
        else:
            self._pages.append(Page([view]))
        if at_bottom:
            self._anchor_released = False
            self.anchor()

    async def cut_from(self, view: Widget) -> None:
        """Remove ``view`` and everything below it, pages let go included: the branch shown goes
        another way from there (a prompt being edited, a reply asked for again)."""
        children = list(self.children)
        gone = children[children.index(view) :]
        dropped = set(map(id, gone))
        self._newer.clear()
        for page in self._pages:
            page.views = [v for v in page.views if id(v) not in dropped]
        self._pages = [page for page in self._pages if page.views]
        if self._pages:
            self._pages[-1].last = None  # it grows again with the next turn
        await self.remove_children(gone)

    @property
    def is_anchored(self) -> bool:
        return self._anchored and not self._anchor_released

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._at_edge(new_value)

    def _at_edge(self, y: float) -> None:
        """At the top or bottom with more beyond it: ask for the next page, once."""
        if self._asked or self.max_scroll_y <= 0:
            return
        if y <= 0 and self.has_older and self.first_index is not None:
            self._asked = True
            self.post_message(self.NeedOlder(self.first_index))
        elif y >= self.max_scroll_y and self._newer:
            self._asked = True
            self.post_message(self.NeedNewer(*self._newer[-1]))

    def latest(self, kind: type[MessageView]) -> MessageView | None:
        views = list(self.query_children(kind))
        return views[-1] if views else None
