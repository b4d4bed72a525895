"""MCP servers in the app: started in the background after the first frame, failures notified,
their state in the command palette, where one can be restarted.

Nothing here loads the SDK unless the config names servers, and then only off the first frame.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ttt.core import api
from ttt_tui.commands import _Provider

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp


def selectors() -> list[str]:
    """``mcp:<name>`` for every enabled server: the app offers their tools with its own."""
    return [f"mcp:{name}" for name, server in api.get_config().mcp.servers.items() if server.enabled]


def start_servers(app: TTTApp) -> None:
    """Start the configured servers in the background; each failure becomes a notification."""
    if not selectors():
        return
    from ttt.core.tools.mcp.servers import listeners

    def on_change(status: Any) -> None:
        if status.state == "failed":
            message = f"MCP server '{status.name}' failed: {status.detail}"
            app.call_later(
                app.notify, message, title="MCP server", severity="error", timeout=10, markup=False
            )

    listeners.append(on_change)
    app.run_worker(_pool().start_all(), name="mcp-start", group="mcp", exit_on_error=False)


def statuses() -> list[Any]:
    """The servers' states for the stats screen; none (and no import) when none are configured."""
    return _pool().statuses() if api.get_config().mcp.servers else []


def _pool() -> Any:
    return api.current_engine().mcp_servers()


def restart(app: TTTApp, name: str) -> None:
    app.notify(f"Restarting MCP server '{name}'…", timeout=2)
    app.run_worker(_pool().restart(name), name=f"mcp-restart-{name}", group="mcp", exit_on_error=False)


class McpCommands(_Provider):
    """One entry per configured server: its state and tool count, and restarting it."""

    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        if not api.get_config().mcp.servers:
            return []
        entries = []
        for status in _pool().statuses():
            detail = f"{status.state} · {status.tools} tools" + (
                f" · {status.detail}" if status.detail else ""
            )
            entries.append(
                (f"Restart MCP server: {status.name}", detail, partial(restart, self.ttt, status.name))
            )
        return entries
