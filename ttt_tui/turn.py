"""What one turn's events do to the screen: the reply view, the inspector and the status line.

Events arrive as fast as the provider sends them; handling one is O(1) (buffer the text, count
it). ``frame`` runs ~30 times a second and does the rendering.
"""

from __future__ import annotations

import time

from ttt.core.errors import AIError
from ttt.core.sanitize import terminal_safe
from ttt.core.types import (
    ErrorEvent,
    ImagePart,
    RouteInfo,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallReady,
    ToolResult,
    ToolResultEvent,
    Usage,
)
from ttt_tui.widgets.inspector import STATUS_STYLE, ToolInspector
from ttt_tui.widgets.message import AssistantMessage, UserMessage
from ttt_tui.widgets.status import Stats, StatusLine
from ttt_tui.widgets.transcript import tool_line


class Turn:
    """One prompt and its reply as they stream."""

    def __init__(
        self,
        session_id: str,
        prompt: str,
        reply: AssistantMessage,
        inspector: ToolInspector,
        status: StatusLine,
        stats: Stats,
    ) -> None:
        self.session_id = session_id
        self.prompt = prompt
        self.reply = reply
        self.inspector = inspector
        self.status = status
        self.stats = stats
        self.error: Exception | None = None
        self.first_token: float | None = None
        self.calls: dict[str, ToolCall] = {}
        self.results: dict[str, ToolResult] = {}
        self.images: list[ImagePart] = []  # attached to the prompt
        self.user: UserMessage | None = None  # the prompt's view; gets its stored id when the turn ends
        self.again = False  # the prompt is stored already: its reply goes beside the earlier ones

    def handle(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            if self.first_token is None:
                self.first_token = time.perf_counter()
            self.reply.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.reply.append_thinking(event.text)
        elif isinstance(event, RouteInfo):
            self.stats.model, self.stats.backend = event.model, event.backend
            self.stats.route = event.reason
            self.stats.context, self.stats.window = event.context_tokens, event.context_window
            self.stats.left_out = event.left_out > 0
            self.reply.start(event.model)
            self.show_status()
        elif isinstance(event, ToolCallReady):
            self.calls[event.call.id] = event.call
            self.inspector.add(event.call)
            self.tool_lines()
        elif isinstance(event, ToolResultEvent):
            self.results[event.result.call_id] = event.result
            card = self.inspector.find(event.result.call_id)
            if card is not None:
                card.set_result(event.result)
            self.tool_lines()
        elif isinstance(event, Usage):
            self.stats.input_tokens += event.input_tokens
            self.stats.output_tokens += event.output_tokens
            if event.cost is not None:
                self.stats.cost = (self.stats.cost or 0.0) + event.cost
        elif isinstance(event, ErrorEvent):
            self.error = event.error

    def tool_lines(self) -> None:
        lines = []
        for call_id, call in self.calls.items():
            card = self.inspector.find(call_id)
            pending = card is not None and card.status in ("waiting", "stopped")
            status = STATUS_STYLE[card.status][1] if card is not None and pending else ""
            lines.append(tool_line(call.name, self.results.get(call_id), status))
        self.reply.set_tool_lines(lines)

    def frame(self) -> None:
        """Render what arrived since the last frame."""
        self.reply.flush()
        self.show_status()

    def show_status(self) -> None:
        if self.reply.streaming and self.first_token is not None:
            elapsed = max(time.perf_counter() - self.first_token, 1e-3)
            self.stats.rate = self.reply.tokens / elapsed
            self.stats.state = "streaming"
        self.status.show(self.stats)

    def error_text(self) -> tuple[str, str]:
        """(title, message) of the turn's error for a notification and the reply's mark."""
        error = self.error
        if isinstance(error, AIError):
            return terminal_safe(error.title), terminal_safe(error.message)
        return type(error).__name__, terminal_safe(str(error))

    async def end(self, mark: str = "", error: bool = False) -> None:
        self.stats.rate = None
        self.stats.state = ""
        await self.reply.finish(mark, error=error)
        self.tool_lines()
        self.status.show(self.stats)
