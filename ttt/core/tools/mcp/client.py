"""One MCP server connection over the ``mcp`` SDK: start, list tools, call, restart, stop.

The SDK's transports are anyio context managers that must be entered and left by the same
task, so each connection lives in a runner task of its own; calls from any task of the loop go
through its session. Every failure becomes a ``ToolExecutionError`` that says what happened
(with the tail of the server's stderr for stdio servers) and has no secret in it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from ttt.core.config import paths
from ttt.core.config_sections import McpServerConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.mcp import launch
from ttt.core.tools.mcp.servers import ServerStatus, expand, notify, scrub, transport_of

log = logging.getLogger("ttt.mcp")
BACKOFF = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before the next start after 1, 2, ... failures
STOP_GRACE = 3.0  # seconds for a clean stop before the runner is cancelled
TAIL_LINES = 8


class McpServer:
    """A configured server; ``start`` is idempotent and cheap once it runs."""

    def __init__(self, name: str, config: McpServerConfig) -> None:
        self.name = name
        self.config = config
        self.state = "stopped"
        self.detail = ""
        self.failures = 0
        self.pid: int | None = None
        self.listed: list[types.Tool] = []
        self.log_path = paths().log_dir / f"mcp-{name}.log"
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._retry_at = 0.0

    def status(self) -> ServerStatus:
        return ServerStatus(self.name, transport_of(self.config), self.state, len(self.listed), self.detail)

    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.listed]

    @property
    def running(self) -> bool:
        return (
            self._client is not None
            and self._runner is not None
            and not self._runner.done()
            and self._alive()
        )

    async def start(self) -> list[types.Tool]:
        """The server's tools, starting it first if it is not running (after a crash too)."""
        async with self._lock:
            if self.running:
                return self.listed
            await self._shutdown()
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise ToolExecutionError(
                    f"MCP server '{self.name}' failed recently ({self.detail}); next try in {wait:.0f} s"
                )
            self._set("starting")
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._stop = asyncio.Event()
            self._runner = asyncio.create_task(self._run(ready), name=f"mcp-{self.name}")
            try:
                async with asyncio.timeout(self.config.timeout):
                    await asyncio.shield(ready)
            except TimeoutError:
                await self._shutdown()
                raise self._failed(f"did not finish starting within {self.config.timeout:g} s") from None
            except ToolExecutionError as exc:
                await self._shutdown()
                raise self._failed(exc.message) from None
            except Exception as exc:
                reason = _describe(exc) if self._alive() else "exited during start-up"
                await self._shutdown()
                raise self._failed(reason) from None
            self.failures = 0
            self._set("ready")
            return self.listed

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call one tool; a server that died is restarted first (with backoff)."""
        await self.start()
        client = self._client
        assert client is not None
        try:
            return await client.call_tool(tool, arguments, read_timeout_seconds=self.config.timeout)
        except MCPError as exc:  # the server answered with an error
            if self.running:
                raise ToolExecutionError(
                    f"MCP server '{self.name}': {scrub(exc.message, self.config)}"
                ) from None
            raise self._crashed() from None
        except Exception as exc:
            if not self.running:
                raise self._crashed() from None
            raise ToolExecutionError(f"MCP server '{self.name}': {_describe(exc)}") from None

    async def stop(self) -> None:
        async with self._lock:
            await self._shutdown()
            if self.state != "failed":
                self._set("stopped")

    # --- the runner ---------------------------------------------------------------------------

    async def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            async with AsyncExitStack() as stack:
                transport = await self._transport(stack)
                client = await stack.enter_async_context(
                    Client(transport, read_timeout_seconds=self.config.timeout)
                )
                self.listed = await _list_tools(client)
                self._client = client
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                log.warning("MCP server '%s' connection ended: %s", self.name, _describe(exc))
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._client = None

    async def _transport(self, stack: AsyncExitStack) -> Any:
        config = self.config
        where = f"mcp.servers.{self.name}"
        if config.url:
            headers = expand(config.headers, f"{where}.headers")
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(config.timeout, read=300.0))
            )
            return streamable_http_client(config.url, http_client=http)
        env = expand(config.env, f"{where}.env")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        errlog: TextIO = stack.enter_context(self.log_path.open("w", encoding="utf-8", errors="replace"))
        self.pid = None
        params = StdioServerParameters(
            command=sys.executable,
            args=["-I", "-S", launch.__file__, config.command, *config.args],
            env=env,
            cwd=Path(config.cwd).expanduser() if config.cwd else None,
        )
        return stdio_client(params, errlog=errlog)

    async def _shutdown(self) -> None:
        """End the runner (cleanly when it is connected, else at once), then its process group."""
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            self._stop.set()
            if self._client is None:  # stuck starting: no clean way out, so no waiting for one
                self._kill_group()
                runner.cancel()
            done, _ = await asyncio.wait({runner}, timeout=STOP_GRACE)
            if not done:
                runner.cancel()
                await asyncio.wait({runner}, timeout=STOP_GRACE * 2)
        self._client = None
        self._kill_group()

    def _kill_group(self) -> None:
        """Whatever is left of the server's process group: children it started and left behind."""
        pid = self._server_pid()
        if pid is not None and hasattr(os, "killpg"):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def _server_pid(self) -> int | None:
        """The pid the launcher wrote first on stderr (also the process group id)."""
        if self.pid is None and not self.config.url:
            with suppress(OSError, ValueError, IndexError):
                with self.log_path.open(encoding="utf-8", errors="replace") as handle:
                    first = handle.readline().split()
                if first and first[0] == launch.PID_LINE:
                    self.pid = int(first[1])
        return self.pid

    def _alive(self) -> bool:
        pid = self._server_pid()
        if self.config.url or pid is None:
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        with suppress(OSError, IndexError):
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        return True

    # --- states -------------------------------------------------------------------------------

    def _set(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        notify(self.status())

    def _failed(self, reason: str) -> ToolExecutionError:
        """Record a failure (the next start waits a little longer) and the error to raise."""
        self.failures += 1
        self._retry_at = time.monotonic() + BACKOFF[min(self.failures, len(BACKOFF)) - 1]
        tail = self.stderr_tail()
        detail = scrub(reason + (f"; its stderr ends with: {tail}" if tail else ""), self.config)
        self._set("failed", detail)
        log.warning("MCP server '%s' failed: %s", self.name, detail)
        return ToolExecutionError(f"MCP server '{self.name}' could not start: {detail}")

    def _crashed(self) -> ToolExecutionError:
        self.failures += 1
        self._retry_at = time.monotonic() + BACKOFF[min(self.failures, len(BACKOFF)) - 1]
        tail = self.stderr_tail()
        detail = scrub(
            "exited during the call" + (f"; its stderr ends with: {tail}" if tail else ""), self.config
        )
        self._set("failed", detail)
        return ToolExecutionError(f"MCP server '{self.name}' {detail}. It is restarted on the next call.")

    def stderr_tail(self) -> str:
        """The last lines the server wrote on stderr, without the launcher's line."""
        if self.config.url:
            return ""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        lines = [line for line in lines if line.strip() and not line.startswith(launch.PID_LINE)]
        return " | ".join(lines[-TAIL_LINES:])[-600:]


async def _list_tools(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(100):  # a server that pages forever is cut off
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _describe(exc: BaseException) -> str:
    """A short reason from whatever the SDK raised (anyio wraps failures in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, MCPError):
        return exc.message
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
