"""The conversation, newest at the bottom; older messages mount only when scrolled to.

Mounting every message of a long session costs seconds and hundreds of MB, so the transcript
shows the newest page and asks for the previous page (``NeedOlder``) when the top is reached.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message as TextualMessage
from textual.widget import Widget

from ttt.core.session.store import StoredMessage
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage

PAGE = 20


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
            lines = [tool_line(c.name, results.get(c.id)) for c in message.tool_calls]
            view = AssistantMessage(
                message.text, model=stored.model, thinking=thinking, tool_lines=lines, index=stored.id
            )
            if stored.status == "error":
                view.initial_mark = (f"⚠ {stored.error or 'the reply failed'}", True)
            elif stored.status in MARKS:
                view.initial_mark = (MARKS[stored.status], False)
            views.append(view)
    return views


def tool_line(name: str, result: object | None, status: str = "") -> Text:
    """``⚙ name  ok 0.2s`` — one line for a tool call under its reply."""
    line = Text("⚙ ", style="dim")
    line.append(name, style="bold")
    error = getattr(result, "error", None)
    if status:
        line.append(f"  {status}", style="dim")
    elif result is not None:
        line.append("  failed" if error else "  ok", style="red" if error else "green")
        line.append(f" {getattr(result, 'duration', 0.0):.1f}s", style="dim")
    return line


class Transcript(VerticalScroll):
    """Message views plus, for an empty session, whatever placeholder the app gives it."""

    class NeedOlder(TextualMessage):
        """Scrolled to the top while older messages exist before message ``before`` (an id)."""

        def __init__(self, before: int) -> None:
            super().__init__()
            self.before = before

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.first_index: int | None = None  # id of the oldest message shown
        self.has_older = False
        self._asked = False

    async def show(self, views: Sequence[Widget], has_older: bool = False) -> None:
        """Replace everything with ``views``, the newest page of a session; messages stick to the bottom."""
        self._set_first(views, has_older)
        self._asked = False
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all(views)
        messages = any(isinstance(view, MessageView) for view in views)
        self.anchor(messages)
        if not messages:
            self.release_anchor()
            self.scroll_home(animate=False)

    def _set_first(self, views: Sequence[Widget], has_older: bool) -> None:
        ids = [v.index for v in views if isinstance(v, MessageView) and v.index is not None]
        self.first_index = ids[0] if ids else None
        self.has_older = has_older and bool(ids)

    async def prepend(self, views: Sequence[MessageView], has_older: bool) -> None:
        """Older messages go on top without moving what the user is reading."""
        old_height = self.virtual_size.height
        if views:
            self._set_first(views, has_older)
        else:
            self.has_older = False
        if views:
            await self.mount_all(views, before=0)
        self._asked = False

        def keep_place() -> None:
            self.scroll_to(y=self.scroll_y + self.virtual_size.height - old_height, animate=False)

        self.call_after_refresh(keep_place)

    async def add(self, view: Widget) -> None:
        """Append ``view``; the transcript follows the bottom while the user is at the bottom."""
        at_bottom = self.is_anchored or self.scroll_y >= self.max_scroll_y
        await self.mount(view)
        if at_bottom:
            self._anchor_released = False
            self.anchor()

    @property
    def is_anchored(self) -> bool:
        return self._anchored and not self._anchor_released

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and self.has_older and not self._asked and self.max_scroll_y > 0:
            self._asked = True
            assert self.first_index is not None
            self.post_message(self.NeedOlder(self.first_index))

    def latest(self, kind: type[MessageView]) -> MessageView | None:
        views = list(self.query_children(kind))
        return views[-1] if views else None
