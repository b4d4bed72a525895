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
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import CONNECTION_CLOSED, REQUEST_TIMEOUT

from ttt.core.config import paths, private_dir, private_opener
from ttt.core.config_sections import McpServerConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.mcp import launch
from ttt.core.tools.mcp.servers import ServerStatus, expand, notify, scrub, transport_of

log = logging.getLogger("ttt.mcp")
# The SDK logs what it drops (with tracebacks); without a handler of its own Python would print
# them on stderr, over the app or a one-shot's output. ttt reports the failures itself.
logging.getLogger("mcp").addHandler(logging.NullHandler())
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
        self._pid: int | None = None
        self.listed: list[types.Tool] = []
        self.malformed = ""  # the last message from the server that was not valid JSON-RPC
        self.log_path = paths().log_dir / f"mcp-{name}.log"
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._closed = False  # the SDK reported the connection closed
        self._stderr_mark = 0  # where stderr stood when the current call began

    def status(self) -> ServerStatus:
        return ServerStatus(self.name, transport_of(self.config), self.state, len(self.listed), self.detail)

    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.listed]

    @property
    def pid(self) -> int | None:
        """The server process (a stdio server's process group too), once it has started."""
        return self._server_pid()

    @property
    def running(self) -> bool:
        return not self._closed and (
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
            if self.state == "ready":  # it died since the last call
                self._record_failure("exited", self._stderr_mark)
            await self._shutdown()
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise ToolExecutionError(
                    f"MCP server '{self.name}' could not start: {self.detail} (next try in {wait:.0f} s)"
                )
            self._set("starting")
            self._closed = False
            self.malformed = ""
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._stop = asyncio.Event()
            self._runner = asyncio.create_task(self._run(ready), name=f"mcp-{self.name}")
            try:
                async with asyncio.timeout(self.config.timeout):
                    await asyncio.shield(ready)
            except TimeoutError:
                await self._shutdown()
                reason = f"did not finish starting within {self.config.timeout:g} s{self._malformed_note()}"
                raise self._failed(reason) from None
            except ToolExecutionError as exc:
                await self._shutdown()
                raise self._failed(exc.message) from None
            except Exception as exc:
                reason = _describe(exc) if self._alive() else "exited during start-up"
                await self._shutdown()
                raise self._failed(reason) from None
            return self.listed

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call one tool; a server that died is restarted first (with backoff)."""
        await self.start()
        client = self._client
        assert client is not None
        self._stderr_mark = self._stderr_size()
        self.malformed = ""
        try:
            result = await client.call_tool(tool, arguments, read_timeout_seconds=self.config.timeout)
        except MCPError as exc:  # the server answered with an error, or the connection ended
            if exc.code == CONNECTION_CLOSED:
                self._closed = True
            if self.running:
                message = exc.message
                if exc.code == REQUEST_TIMEOUT:
                    message = f"{tool} did not answer within {self.config.timeout:g} s"
                reason = scrub(message + self._malformed_note(), self.config)
                raise ToolExecutionError(f"MCP server '{self.name}': {reason}") from None
            raise self._crashed() from None
        except Exception as exc:
            if not self.running:
                raise self._crashed() from None
            raise ToolExecutionError(f"MCP server '{self.name}': {_describe(exc)}") from None
        self.failures = 0  # it works: a later crash restarts it at once again
        return result

    async def restart(self) -> None:
        """Stop and start again now, whatever the backoff says (the app's palette command)."""
        await self.stop()
        self.failures, self._retry_at = 0, 0.0
        await self.start()

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
                self._set("ready")
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
        return _watched(await self._sdk_transport(stack), self)

    async def _sdk_transport(self, stack: AsyncExitStack) -> Any:
        config = self.config
        where = f"mcp.servers.{self.name}"
        if config.url:
            headers = expand(config.headers, f"{where}.headers")
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(config.timeout, read=300.0))
            )
            return streamable_http_client(config.url, http_client=http)
        env = expand(config.env, f"{where}.env")
        private_dir(self.log_path.parent)
        errlog: TextIO = stack.enter_context(  # the stack closes it; 0600: a server may print its env
            open(self.log_path, "w", encoding="utf-8", errors="replace", opener=private_opener)  # noqa: SIM115
        )
        os.fchmod(errlog.fileno(), 0o600)  # a log an older ttt made readable to all
        self._pid = None
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
        if self._pid is None and not self.config.url:
            with suppress(OSError, ValueError, IndexError):
                with self.log_path.open(encoding="utf-8", errors="replace") as handle:
                    first = handle.readline().split()
                if first and first[0] == launch.PID_LINE:
                    self._pid = int(first[1])
        return self._pid

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

    def _record_failure(self, reason: str, since: int = 0) -> str:
        """Note a failure (each one in a row delays the next start more); returns the detail."""
        self.failures += 1
        self._retry_at = time.monotonic() + BACKOFF[min(self.failures, len(BACKOFF)) - 1]
        tail = self.stderr_tail(since)
        detail = scrub(reason + (f"; its stderr ends with: {tail}" if tail else ""), self.config)
        self._set("failed", detail)
        log.warning("MCP server '%s' failed: %s", self.name, detail)
        return detail

    def _failed(self, reason: str) -> ToolExecutionError:
        return ToolExecutionError(f"MCP server '{self.name}' could not start: {self._record_failure(reason)}")

    def _crashed(self) -> ToolExecutionError:
        detail = self._record_failure("exited during the call", self._stderr_mark)
        return ToolExecutionError(f"MCP server '{self.name}' {detail}. It is restarted on the next call.")

    def _malformed_note(self) -> str:
        return f"; it sent malformed JSON-RPC ({self.malformed})" if self.malformed else ""

    def _stderr_size(self) -> int:
        try:
            return 0 if self.config.url else self.log_path.stat().st_size
        except OSError:
            return 0

    def stderr_tail(self, since: int = 0) -> str:
        """The last lines the server wrote on stderr (from offset ``since``), without the launcher's."""
        if self.config.url:
            return ""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(since)
                lines = handle.read().decode("utf-8", errors="replace").splitlines()
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


@asynccontextmanager
async def _watched(transport: Any, server: McpServer) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK transport, with its read stream noting malformed messages (the SDK drops them,
    so a request they answered would only time out, without saying why)."""
    async with transport as (read, write):
        yield _WatchedReads(read, server), write


class _WatchedReads:
    def __init__(self, stream: Any, server: McpServer) -> None:
        self._stream = stream
        self._server = server

    @property
    def last_context(self) -> Any:
        return getattr(self._stream, "last_context", None)

    def _note(self, item: Any) -> Any:
        if isinstance(item, Exception):
            errors = getattr(item, "errors", None)  # pydantic's ValidationError says what and where
            first = errors()[0] if callable(errors) and errors() else {}
            shown = f"{first.get('msg', '')}: {str(first.get('input', ''))[:80]!r}" if first else str(item)
            self._server.malformed = shown.splitlines()[0][:160] if shown else type(item).__name__
        return item

    async def receive(self) -> Any:
        return self._note(await self._stream.receive())

    def __aiter__(self) -> _WatchedReads:
        return self

    async def __anext__(self) -> Any:
        return self._note(await self._stream.__anext__())

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> _WatchedReads:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._stream.__aexit__(*exc)
