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

from ttt.core.types import Message
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage

PAGE = 20


def views_for(messages: Sequence[Message], first_index: int) -> list[MessageView]:
    """Widgets for stored messages; tool results are summarised on the reply that asked for them."""
    views: list[MessageView] = []
    results = {r.call_id: r for m in messages for r in m.tool_results}
    for offset, message in enumerate(messages):
        index = first_index + offset
        if message.role == "user":
            views.append(UserMessage(message.text, index=index))
        elif message.role == "assistant":
            thinking = "".join(p.text for p in message.parts if p.type == "thinking")
            lines = [tool_line(c.name, results.get(c.id)) for c in message.tool_calls]
            views.append(AssistantMessage(message.text, thinking=thinking, tool_lines=lines, index=index))
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
        """Scrolled to the top while older messages exist before ``before``."""

        def __init__(self, before: int) -> None:
            super().__init__()
            self.before = before

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.first_index = 0
        self._asked = False

    async def show(self, views: Sequence[Widget], first_index: int) -> None:
        """Replace everything with ``views``, the newest page of a session; messages stick to the bottom."""
        self.first_index = first_index
        self._asked = False
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all(views)
        messages = any(isinstance(view, MessageView) for view in views)
        self.anchor(messages)
        if not messages:
            self.release_anchor()
            self.scroll_home(animate=False)

    async def prepend(self, views: Sequence[MessageView], first_index: int) -> None:
        """Older messages go on top without moving what the user is reading."""
        old_height = self.virtual_size.height
        self.first_index = first_index
        if views:
            await self.mount_all(views, before=0)
        self._asked = False

        def keep_place() -> None:
            self.scroll_to(y=self.scroll_y + self.virtual_size.height - old_height, animate=False)

        self.call_after_refresh(keep_place)

    async def add(self, view: Widget) -> None:
        await self.mount(view)
        if self.is_anchored:
            self.scroll_end(animate=False, immediate=True)

    @property
    def is_anchored(self) -> bool:
        return self._anchored and not self._anchor_released

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and self.first_index > 0 and not self._asked and self.max_scroll_y > 0:
            self._asked = True
            self.post_message(self.NeedOlder(self.first_index))

    def latest(self, kind: type[MessageView]) -> MessageView | None:
        views = list(self.query_children(kind))
        return views[-1] if views else None
