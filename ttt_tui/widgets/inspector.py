"""The tool-call inspector: every call of the session, its arguments, result, time and status.

A call that needs permission shows Approve / Deny / Always here (and in a modal); the turn
waits until one of them answers.
"""

from __future__ import annotations

import json
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from ttt.core.config import ToolsConfig
from ttt.core.tools.base import Tool
from ttt.core.tools.workspace import broad_workspace, workspace_label
from ttt.core.types import ToolCall, ToolResult

MAX_RESULT = 2000

STATUS_STYLE = {
    "waiting": ("◌", "waiting for approval"),
    "running": ("◔", "running"),
    "ok": ("✓", "done"),
    "denied": ("⊘", "denied"),
    "failed": ("✗", "failed"),
    "stopped": ("■", "stopped before it ran"),
}


def result_status(result: ToolResult) -> str:
    """ok, denied (not run: no permission) or failed (an error or a timeout)."""
    return result.outcome if result.outcome in ("ok", "denied") else "failed"


class ToolCallCard(Vertical):
    """One call. ``status`` is waiting | running | ok | denied | failed | stopped (the turn ended
    before it ran)."""

    class Decided(Message):
        """Approve / Deny / Always pressed on this card (``answer`` is yes | no | always)."""

        def __init__(self, card: ToolCallCard, answer: str) -> None:
            super().__init__()
            self.card = card
            self.answer = answer

    def __init__(self, call: ToolCall) -> None:
        super().__init__(classes="tool-card")
        self.call = call
        self.status = "running"
        self.decision = ""
        self.result: ToolResult | None = None
        self._head: Static | None = None

    def compose(self) -> ComposeResult:
        """The parts are filled in here and on every change since: a card's result may arrive
        before it is mounted, and Textual counts a widget as mounted only after ``on_mount``."""
        self._head = Static(classes="tool-head")
        self._result_view = Static(classes="tool-result")
        self._buttons = Horizontal(
            Button("Approve", id="yes", variant="success", compact=True),
            Button("Deny", id="no", variant="error", compact=True),
            Button("Always", id="always", compact=True),
            classes="tool-buttons",
        )
        self._refresh_view()
        yield self._head
        yield Static(_arguments(self.call.arguments), classes="tool-args")
        yield self._result_view
        yield self._buttons

    def set_status(self, status: str) -> None:
        self.status = status
        self._refresh_view()

    def set_decision(self, answer: str) -> None:
        self.decision = answer
        self.set_status("denied" if answer == "no" else "running")

    def set_result(self, result: ToolResult) -> None:
        self.result = result
        self.status = result_status(result)
        self._refresh_view()

    def _refresh_view(self) -> None:
        for status in STATUS_STYLE:
            self.set_class(status == self.status, f"-{status}")
        if self._head is None:
            return  # not composed yet: compose shows the card as it is then
        glyph, label = STATUS_STYLE[self.status]
        head = Text.assemble((f"{glyph} ", "bold"), (self.call.name, "bold"), (f"  {label}", "dim"))
        if self.call.name.startswith("mcp__"):  # an MCP tool: say which server runs it
            head.append(f"  MCP server {self.call.name.split('__')[1]}", style="dim italic")
        if self.decision == "always":
            head.append("  (always allowed)", style="dim")
        if self.result is not None:
            head.append(f"  {self.result.duration:.2f}s", style="dim")
        self._head.update(head)
        self._result_view.display = self.result is not None
        if self.result is not None:
            self._result_view.update(Text(_clip(_result_text(self.result))))
        self._buttons.display = self.status == "waiting"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Decided(self, event.button.id or "no"))


class ToolInspector(VerticalScroll):
    """Cards for the session's tool calls, newest at the bottom."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Tool calls", style="bold"), classes="inspector-title")
        yield Static(classes="inspector-tools")
        yield Static(Text("No tool calls yet.", style="dim"), classes="inspector-empty")

    def show_tools(self, tools: list[Tool | str], config: ToolsConfig) -> None:
        """Which tools the model may call (an MCP server's as ``mcp:<server>``) and where the file
        tools work, in two short lines."""
        names = ", ".join(sorted(t if isinstance(t, str) else t.name for t in tools)) or "none"
        label, root = workspace_label(config)
        line = self.query_one(".inspector-tools", Static)
        line.update(Text.assemble(("On: ", "bold"), names, "\n", ("Workspace: ", "bold"), label, style="dim"))
        line.tooltip = str(root)
        if broad_workspace(root) and any(isinstance(t, Tool) and t.category == "file" for t in tools):
            self.notify(
                f"The workspace is {root}: file tools ask before every file. "
                "Set tools.workspace, or start ttt in a project folder.",
                title="Tools",
                markup=False,
            )

    def add(self, call: ToolCall) -> ToolCallCard:
        """A new card (ids may repeat across tool rounds, so each call gets its own)."""
        self.query_one(".inspector-empty").display = False
        card = ToolCallCard(call)
        self.mount(card)
        self.scroll_end(animate=False)
        return card

    def show_stored(
        self,
        calls: list[ToolCall],
        results: dict[str, ToolResult],
        older: bool = False,
        stopped: frozenset[str] = frozenset(),
    ) -> None:
        """Cards for calls read back from the store; ``older`` ones go above those shown.
        A page the transcript let go and read again brings calls already shown: skipped.
        ``stopped``: calls whose turn ended before they ran."""
        shown = {card.call.id for card in self.query(ToolCallCard)}
        calls = [call for call in calls if call.id not in shown]
        if not calls:
            return
        cards = [ToolCallCard(call) for call in calls]
        anchor = self.query_one(".inspector-empty")
        anchor.display = False
        for card in cards:
            result = results.get(card.call.id)
            if result is not None:
                card.set_result(result)
            elif card.call.id in stopped:
                card.set_status("stopped")
        if older:
            self.mount_all(cards, after=anchor)
        else:
            self.mount_all(cards)

    def find(self, call_id: str) -> ToolCallCard | None:
        """The newest card with this id."""
        found = [c for c in self.query(ToolCallCard) if c.call.id == call_id]
        return found[-1] if found else None

    async def clear_calls(self) -> None:
        await self.query(ToolCallCard).remove()
        self.query_one(".inspector-empty").display = True


def _result_text(result: ToolResult) -> str:
    """The result body; a failure's message once (the content usually repeats it as "Error: …")."""
    body = result.content.strip()
    error = (result.error or "").strip()
    if not error:
        return body
    body = body.removeprefix("Error:").strip()
    return body if error in body else f"{error}\n{body}".strip()


def _arguments(arguments: dict[str, Any]) -> JSON | Text:
    if not arguments:
        return Text("(no arguments)", style="dim")
    return JSON(json.dumps(arguments, ensure_ascii=False), indent=2)


def _clip(text: str) -> str:
    return (
        text
        if len(text) <= MAX_RESULT
        else text[:MAX_RESULT] + f"\n… ({len(text) - MAX_RESULT} more characters)"
    )
