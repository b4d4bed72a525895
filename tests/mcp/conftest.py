"""Fixtures for the MCP tests: our own server (tests/mcp/server.py), the real third-party servers
installed with the test extras, a Streamable HTTP server on 127.0.0.1, and config helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ttt.core.config_sections import McpConfig, McpServerConfig

SERVER = Path(__file__).with_name("server.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT = 30.0  # generous: the machine is shared and a Python server takes a while to import


def ours(*flags: str, **settings: Any) -> dict[str, Any]:
    """The [mcp.servers.<name>] table of our own test server."""
    return {"command": sys.executable, "args": [str(SERVER), *flags], "timeout": TIMEOUT, **settings}


def time_server(**settings: Any) -> dict[str, Any]:
    return {"command": str(BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"], **settings}


def pool_of(**servers: dict[str, Any]) -> Any:
    """An McpServers with these tables (as the config would hold them)."""
    from ttt.core.tools.mcp.servers import McpServers

    return McpServers(McpConfig({name: McpServerConfig(**table) for name, table in servers.items()}))


def write_config(folder: Path, **servers: dict[str, Any]) -> Path:
    """A ttt.toml with these servers in ``folder`` (the working directory of ttt in the tests)."""
    import tomli_w

    path = folder / "ttt.toml"
    path.write_text(tomli_w.dumps({"mcp": {"servers": servers}}))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Our server over Streamable HTTP on 127.0.0.1, requiring ``Bearer secret-token-123``."""
    port = free_port()
    env = {**os.environ, "TEST_TOKEN": "secret-token-123"}
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, "the HTTP test server exited"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A small git repository with one commit and one uncommitted change."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    run("config", "user.email", "test@example.com")
    run("config", "user.name", "Test")
    (repo / "notes.txt").write_text("first\n")
    run("add", "notes.txt")
    run("commit", "-q", "-m", "Add the notes")
    (repo / "notes.txt").write_text("first\nsecond\n")
    return repo
