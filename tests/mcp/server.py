"""An MCP server of our own, on the SDK's server API, for the cases real servers don't show.

``python tests/mcp/server.py [--http PORT] [--hang-start | --malformed-start | --exit-start]``.
Over stdio by default; ``--http`` serves Streamable HTTP on 127.0.0.1 and, when ``TEST_TOKEN``
is set, answers 401 to requests without ``Authorization: Bearer $TEST_TOKEN``.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from typing import Any

import anyio
import mcp_types as types
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.types import Image

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
server = MCPServer("ttt-test")
_WIRE = os.fstat(1)  # the SDK moves the protocol off fd 1 once it serves; `garbage` finds it again


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return f"echo: {text}"


@server.tool()
def picture() -> Image:
    """A 1x1 PNG."""
    return Image(data=PNG, format="png")


@server.tool(structured_output=False)
def document() -> list[Any]:
    """Text, a text resource and a binary resource."""
    return [
        types.TextContent(type="text", text="the report follows"),
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(
                uri="file:///report.txt", mime_type="text/plain", text="all good"
            ),
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.BlobResourceContents(
                uri="file:///report.pdf",
                mime_type="application/pdf",
                blob=base64.b64encode(b"%PDF-1.4").decode(),
            ),
        ),
    ]


@server.tool()
def fail(reason: str) -> str:
    """Report an error (the result has isError set)."""
    raise ValueError(reason)


@server.tool()
def crash() -> str:
    """Die in the middle of a call."""
    sys.stderr.write("fatal: simulated crash\n")
    sys.stderr.flush()
    os._exit(1)


@server.tool()
async def slow(seconds: float) -> str:
    """Answer after a while."""
    await anyio.sleep(seconds)
    return "done"


@server.tool()
async def garbage() -> str:
    """Write a line that is not JSON-RPC where the protocol goes, then never answer."""
    for fd in range(3, 64):
        try:
            stat = os.fstat(fd)
        except OSError:
            continue
        if (stat.st_dev, stat.st_ino) == (_WIRE.st_dev, _WIRE.st_ino):
            os.write(fd, b"this is not json-rpc\n")
    await anyio.sleep(3600)
    return "unreachable"


@server.tool()
def big(size: int) -> str:
    """A long text."""
    return "x" * size


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable of the server."""
    return os.environ.get(name, "<unset>")


@server.tool()
def spawn_child() -> str:
    """Start a long-lived child process (in the server's process group); returns its pid."""
    child = subprocess.Popen(
        ["sleep", "300"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return str(child.pid)


def _serve_http(port: int) -> None:
    import uvicorn

    app = server.streamable_http_app()
    token = os.environ.get("TEST_TOKEN")

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and token:
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"").decode() != f"Bearer {token}":
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=port, log_level="warning")


def main(argv: list[str]) -> None:
    if "--exit-start" in argv:
        sys.stderr.write("fatal: no configuration found\n")
        sys.exit(3)
    if "--hang-start" in argv:
        time.sleep(3600)
    if "--malformed-start" in argv:
        for _line in sys.stdin:
            sys.stdout.write("{this is not json\n")
            sys.stdout.flush()
        return
    if "--http" in argv:
        _serve_http(int(argv[argv.index("--http") + 1]))
        return
    server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
