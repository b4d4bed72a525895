"""Tool-call approval: the engine's callback asks in a modal and in the inspector; the first answer wins."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ttt.core.sanitize import terminal_safe
from ttt.core.types import ToolCall
from ttt_tui.screens.dialogs import ApprovalScreen
from ttt_tui.widgets.inspector import ToolInspector

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp


class Approvals:
    """Pending approvals of one app, by call id; the turn waits on each until it is answered."""

    def __init__(self, app: TTTApp) -> None:
        self.app = app
        self._pending: dict[str, asyncio.Future[str]] = {}

    async def ask(self, call: ToolCall, tool: Any) -> str:
        """yes | no | always: from the modal, the inspector card, or "no" if the turn goes away."""
        app = self.app
        inspector = app.query_one(ToolInspector)
        inspector.display = True
        card = inspector.find(call.id) or inspector.add(call)
        card.set_status("waiting")
        if app.turn is not None:
            app.turn.calls[call.id] = call
            app.turn.tool_lines()
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[call.id] = future
        screen = ApprovalScreen(call, terminal_safe(getattr(tool, "description", "")))  # MCP servers
        app.push_screen(screen, lambda answer: self.decide(call.id, answer or "no"))
        try:
            answer = await future
        except asyncio.CancelledError:  # the turn was stopped while it waited: the call never runs
            card.set_status("stopped")
            if app.turn is not None:
                app.turn.tool_lines()
            raise
        finally:
            self._pending.pop(call.id, None)
            if screen.is_active:
                screen.dismiss("no")
        card.set_decision(answer)
        return answer

    def decide(self, call_id: str, answer: str) -> None:
        future = self._pending.get(call_id)
        if future is not None and not future.done():
            future.set_result(answer)
