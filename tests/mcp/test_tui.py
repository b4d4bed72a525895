"""MCP servers in the app: started in the background, tools behind the approval card, the
server named in the inspector, state and restart in the palette, failures notified."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.mcp.conftest import time_server
from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from tests.tui.test_features import wait_for
from ttt.core import api
from ttt_tui.app import create_app, offered_tools
from ttt_tui.mcp_servers import McpCommands
from ttt_tui.screens.dialogs import ApprovalScreen
from ttt_tui.widgets.inspector import ToolCallCard


async def test_mcp_tool_waits_for_the_approval_card_and_names_its_server(ollama: OllamaServer) -> None:
    api.configure(
        mcp={"servers": {"time": time_server(), "broken": {"command": "no-such-mcp-server-anywhere"}}}
    )
    tools = offered_tools()[0]
    assert {"mcp:time", "mcp:broken"} <= {t for t in tools if isinstance(t, str)}
    ollama.script.push(
        Reply(tool_calls=[("mcp__time__get_current_time", {"timezone": "UTC"})]), Reply(text="Noon.")
    )
    app = create_app(model=MODEL, tools=tools)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_for(lambda: any("broken" in str(n.message) for n in app._notifications), 8)
        await pilot.press(*"time?", "enter")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen), 30)
        assert app.screen.call.name == "mcp__time__get_current_time"  # type: ignore[attr-defined]
        await pilot.press("y")
        await settle(app)
        [card] = list(app.query(ToolCallCard))
        assert card.status == "ok" and '"timezone": "UTC"' in (card.result.content if card.result else "")
        assert "MCP server time" in str(card.query_one(".tool-head").render())
        entries = {title: help_text for title, help_text, _ in McpCommands(app.screen).entries()}
        assert entries["Restart MCP server: time"].startswith("ready · 2 tools")
        assert entries["Restart MCP server: broken"].startswith("failed · 0 tools")
        await pilot.press("f2")
        await settle(app)
        table = app.screen.query_one("#stats-mcp", DataTable)
        states = {table.get_row_at(i)[0]: table.get_row_at(i)[2] for i in range(table.row_count)}
        assert states == {"time": "ready", "broken": "failed"}
        assert "cannot run" in str(table.get_row_at(1)[4])
