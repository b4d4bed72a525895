"""MCP servers as ttt configures them, and the servers one engine runs.

Nothing here imports the SDK: ``McpServers`` creates a connection (``client.McpServer``) only
when a server is first used, so a turn without MCP tools never loads it.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ttt.core.config_sections import McpConfig, McpServerConfig
from ttt.core.errors import ConfigurationError, ToolExecutionError
from ttt.core.sanitize import terminal_safe
from ttt.core.secrets import REDACTED, redact

if TYPE_CHECKING:
    from ttt.core.tools.base import Tool
    from ttt.core.tools.mcp.client import McpServer

SELECTOR_PREFIX = "mcp:"
TOOL_PREFIX = "mcp__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
log = logging.getLogger("ttt.mcp")


@dataclass(frozen=True)
class ServerStatus:
    """What a screen or ``ttt mcp list`` shows of one server; ``detail`` is free of secrets."""

    name: str
    transport: str  # "stdio" or "http"
    state: str  # "stopped", "starting", "ready", "failed" or "disabled"
    tools: int
    detail: str = ""  # why it failed, with the tail of its stderr


Listener = Callable[[ServerStatus], None]
listeners: list[Listener] = []  # told of every state change (the app notifies, `ttt -p` notes)


def notify(status: ServerStatus) -> None:
    for listener in list(listeners):
        try:
            listener(status)
        except Exception as exc:  # a display problem must not break a server
            log.debug("MCP listener failed: %s", exc)


def is_selector(selector: Any) -> bool:
    return isinstance(selector, str) and selector.startswith(SELECTOR_PREFIX)


def tool_name(server: str, tool: str) -> str:
    """``mcp__<server>__<tool>``, made of the characters every provider accepts, at most 64 long
    (a long name keeps its start and gets a short hash, so it stays unique)."""
    name = _UNSAFE.sub("_", f"{TOOL_PREFIX}{server}__{tool}")
    if len(name) <= 64:
        return name
    return f"{name[:55]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def transport_of(config: McpServerConfig) -> str:
    return "http" if config.url else "stdio"


def expand(values: dict[str, str], where: str) -> dict[str, str]:
    """``values`` with each ``${VAR}`` replaced from the environment; a missing one is an error
    that names the variable, never a value."""

    def lookup(match: re.Match[str]) -> str:
        value = os.environ.get(match[1])
        if value is None:
            raise ToolExecutionError(
                f"{where} refers to ${{{match[1]}}}, which is not set in the environment"
            )
        return value

    return {key: _REFERENCE.sub(lookup, value) for key, value in values.items()}


def scrub(text: str, config: McpServerConfig) -> str:
    """``text`` safe to show: no env or header value of the server, no known secret, no control
    sequences (server output and error bodies are untrusted)."""
    secrets: list[str] = []
    for table in (config.env, config.headers):
        for key, value in table.items():
            try:
                secrets += expand({key: value}, "").values()
            except ToolExecutionError:  # a reference to a variable that is not set: nothing to hide
                pass
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return terminal_safe(redact(text))


def import_servers(data: Any) -> dict[str, dict[str, Any]]:
    """``{"mcpServers": {...}}`` as other clients write it, as ``[mcp.servers.<name>]`` tables.

    Keys ttt has no use for (``type``, ``disabled``, ``alwaysAllow``...) are dropped or mapped;
    raises ConfigurationError naming what is wrong."""
    servers = data.get("mcpServers", data.get("servers")) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigurationError('expected a JSON object with an "mcpServers" object')
    tables: dict[str, dict[str, Any]] = {}
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise ConfigurationError(f"mcpServers.{name} must be an object")
        table: dict[str, Any] = {}
        for key in ("command", "url", "cwd"):
            if isinstance(entry.get(key), str) and entry[key]:
                table[key] = entry[key]
        if "command" not in table and "url" not in table:
            raise ConfigurationError(f"mcpServers.{name} has neither a command nor a url")
        for key in ("args",):
            if isinstance(entry.get(key), list):
                table[key] = [str(v) for v in entry[key]]
        for key in ("env", "headers"):
            if isinstance(entry.get(key), dict):
                table[key] = {str(k): str(v) for k, v in entry[key].items()}
        if entry.get("disabled") is True or entry.get("enabled") is False:
            table["enabled"] = False
        if isinstance(entry.get("timeout"), int | float) and not isinstance(entry["timeout"], bool):
            timeout = float(entry["timeout"])
            table["timeout"] = timeout / 1000 if timeout > 1000 else timeout  # some clients use ms
        tables[_UNSAFE.sub("_", name)] = table
    return tables


class McpServers:
    """The MCP servers of one engine (one event loop): started on first use, reused across turns,
    restarted after a crash, stopped with the engine."""

    def __init__(self, config: McpConfig) -> None:
        self.config = config
        self._servers: dict[str, McpServer] = {}

    def names(self) -> list[str]:
        return [name for name, server in self.config.servers.items() if server.enabled]

    def server(self, name: str) -> McpServer:
        """The connection of a configured, enabled server (created, not started)."""
        if name not in self._servers:
            config = self.config.servers.get(name)
            if config is None or not config.enabled:
                close = difflib.get_close_matches(name, self.names(), n=3)
                hint = f" Did you mean {' or '.join(close)}?" if close else ""
                what = "is disabled" if config else "is not configured"
                raise ConfigurationError(
                    f"MCP server '{name}' {what}.{hint} See `ttt mcp list` and [mcp.servers] in ttt.toml."
                )
            if not config.command and not config.url:
                raise ConfigurationError(
                    f"MCP server '{name}' needs a command or a url in [mcp.servers.{name}]."
                )
            from ttt.core.tools.mcp.client import McpServer

            self._servers[name] = McpServer(name, config)
        return self._servers[name]

    async def tools(self, selectors: list[str]) -> list[Tool]:
        """The tools of ``mcp:<server>`` and ``mcp:<server>/<tool>`` selectors, starting servers
        as needed. A server that fails is reported (listeners, log) and the turn goes on without
        its tools; a tool named explicitly stays offered and its calls say why it can't run."""
        from ttt.core.tools.mcp.adapter import as_tools, unavailable_tool

        chosen: dict[str, Tool] = {}
        started: dict[str, list[Tool] | None] = {}  # each server tried once per turn
        for selector in selectors:
            server_name, _, wanted = selector.removeprefix(SELECTOR_PREFIX).partition("/")
            server = self.server(server_name)
            if server_name not in started:
                try:
                    started[server_name] = as_tools(server, await server.start())
                except ToolExecutionError as exc:
                    log.warning("%s", exc)  # tools it listed before stay offered: calls say why they fail
                    started[server_name] = as_tools(server, server.listed) if server.listed else None
            tools = started[server_name]
            if tools is None:
                if wanted:
                    made = unavailable_tool(server, wanted)
                    chosen.setdefault(made.name, made)
                continue
            if wanted:
                tools = [t for t in tools if t.name == tool_name(server_name, wanted)]
                if not tools:
                    offered = ", ".join(server.tool_names()) or "none"
                    raise ConfigurationError(
                        f"MCP server '{server_name}' has no tool '{wanted}' (it has: {offered})."
                    )
            for made in tools:
                chosen.setdefault(made.name, made)
        return list(chosen.values())

    async def start_all(self) -> None:
        """Start every enabled server at once (the app does this in the background)."""
        await asyncio.gather(*(self._quiet_start(name) for name in self.names()))

    async def _quiet_start(self, name: str) -> None:
        try:
            await self.server(name).start()
        except (ToolExecutionError, ConfigurationError) as exc:
            log.warning("%s", exc)

    async def restart(self, name: str) -> None:
        """Stop a server and start it again now, whatever its backoff says."""
        try:
            await self.server(name).restart()
        except (ToolExecutionError, ConfigurationError) as exc:
            log.warning("%s", exc)

    def statuses(self) -> list[ServerStatus]:
        """Every configured server, including disabled ones and ones not started yet."""
        result = []
        for name, config in self.config.servers.items():
            if name in self._servers:
                result.append(self._servers[name].status())
            else:
                state = "stopped" if config.enabled else "disabled"
                result.append(ServerStatus(name, transport_of(config), state, 0))
        return result

    async def aclose(self) -> None:
        """Stop every server (and its process group)."""
        servers, self._servers = list(self._servers.values()), {}
        await asyncio.gather(*(server.stop() for server in servers), return_exceptions=True)
