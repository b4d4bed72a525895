"""Fixtures for the tool tests: a workspace, small limits and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ttt.core.config import ToolsConfig
from ttt.core.tools.base import Tool
from ttt.core.tools.context import use_tools_config


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root.resolve()


@pytest.fixture
def config(workspace: Path) -> ToolsConfig:
    """Limits small enough that attacks fail fast."""
    return ToolsConfig(
        workspace=str(workspace), timeout=10, python_timeout=2, python_memory_mb=128, http_max_bytes=10_000
    )


async def call(tool: Tool, config: ToolsConfig, **arguments: Any) -> Any:
    """Call a tool directly (no executor) with ``config`` current, as the executor would."""
    with use_tools_config(config):
        result = tool(**arguments)
        return await result if inspect.isawaitable(result) else result


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, b"POST " + body + b" " + self.headers.get("X-Test", "").encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/hello":
            self._send(200, b"hello from ttt")
        elif url.path == "/host":
            self._send(200, self.headers.get("Host", "").encode())
        elif url.path == "/big":
            self._send(200, b"a" * 100_000)
        elif url.path == "/endless":  # no length, never ends on its own: the client must stop reading
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(10_000):
                    self.wfile.write(b"b" * 8192)
            except OSError:
                pass
        elif url.path == "/redirect":
            self._send(302, b"", Location="/hello")
        elif url.path == "/loop":
            self._send(302, b"", Location="/loop")
        elif url.path == "/search":
            query = parse_qs(url.query)
            if query.get("format") != ["json"]:
                self._send(403, b"format not allowed")
                return
            q = query["q"][0]
            results = [
                {"title": f"Result {i} for {q}", "url": f"https://example.org/{i}", "content": f"snippet {i}"}
                for i in range(1, 8)
            ]
            self._send(200, json.dumps({"query": q, "results": results}).encode(), "application/json")
        elif url.path == "/forbidden":
            self._send(403, b"no")
        else:
            self._send(200, b"<html>not json</html>", "text/html")


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """Base URL of a stdlib HTTP server on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
