"""`ttt mcp list | tools | import` and `ttt tools --json`, as a user runs them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.cli.test_oneshot import ttt as run_cli
from tests.mcp.conftest import time_server, write_config


def test_list_and_tools_show_state_count_and_source() -> None:
    write_config(Path.cwd(), time=time_server(), broken={"command": "no-such-mcp-server-anywhere"})
    listed = run_cli("mcp", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    states = {s["name"]: (s["state"], s["tools"]) for s in json.loads(listed.stdout)}
    assert states == {"time": ("ready", 2), "broken": ("failed", 0)}
    tools = run_cli("mcp", "tools", "time")
    assert "mcp__time__convert_time" in tools.stdout and "ask" in tools.stdout
    every = json.loads(run_cli("tools", "--json").stdout)
    sources = {t["name"]: (t["source"], t["permission"]) for t in every}
    assert sources["calculate"] == ("builtin", "allow")
    assert sources["mcp__time__get_current_time"] == ("mcp:time", "ask")


def test_per_tool_permission_overrides_the_server() -> None:
    path = write_config(Path.cwd(), time=time_server(permission="deny"))
    path.write_text(path.read_text() + '\n[tools.permissions]\nmcp__time__convert_time = "allow"\n')
    every = {t["name"]: t["permission"] for t in json.loads(run_cli("tools", "--json").stdout)}
    assert every["mcp__time__convert_time"] == "allow" and every["mcp__time__get_current_time"] == "deny"


def test_import_writes_the_servers_and_keeps_existing_ones(tmp_path: Path) -> None:
    source = tmp_path / "claude.json"
    source.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {
                        "command": "npx",
                        "args": ["-y", "server-files", "/tmp"],
                        "env": {"TOKEN": "${GH}"},
                    },
                    "remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"X-Key": "k"}},
                    "off": {"command": "x", "disabled": True},
                }
            }
        )
    )
    Path("ttt.toml").write_text('model = "ollama/llama3.2"  # kept\n')
    result = run_cli("mcp", "import", str(source), "--project")
    assert result.returncode == 0, result.stderr
    text = Path("ttt.toml").read_text()
    assert "# kept" in text
    servers = tomllib.loads(text)["mcp"]["servers"]
    assert servers["files"] == {
        "command": "npx",
        "args": ["-y", "server-files", "/tmp"],
        "env": {"TOKEN": "${GH}"},
    }
    assert servers["remote"] == {"url": "https://example.com/mcp", "headers": {"X-Key": "k"}}
    assert servers["off"]["enabled"] is False
    again = run_cli("mcp", "import", str(source), "--project")
    assert "kept the existing MCP server 'files'" in again.stderr


def test_import_rejects_a_file_that_is_not_an_mcp_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"servers": 3}')
    result = run_cli("mcp", "import", str(bad))
    assert result.returncode == 2 and "mcpServers" in result.stderr and "Traceback" not in result.stderr


def test_config_list_hides_literal_secrets_of_servers() -> None:
    write_config(
        Path.cwd(),
        web={
            "url": "http://127.0.0.1:9/mcp",
            "headers": {"Authorization": "Bearer literal-token-123", "X": "${REF}"},
        },
    )
    shown = run_cli("config", "list")
    assert shown.returncode == 0, shown.stderr
    assert (
        "literal-token-123" not in shown.stdout and "[REDACTED]" in shown.stdout and "${REF}" in shown.stdout
    )


def test_config_get_of_a_table_hides_literal_secrets_too() -> None:
    write_config(
        Path.cwd(),
        web={"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer literal-token-123"}},
    )
    for key in ("mcp", "mcp.servers", "mcp.servers.web", "mcp.servers.web.headers"):
        shown = run_cli("config", "get", key)
        assert shown.returncode == 0, shown.stderr
        assert "literal-token-123" not in shown.stdout and "[REDACTED]" in shown.stdout, key
    asked = run_cli("config", "get", "mcp.servers.web.headers.Authorization")  # one value, by name
    assert asked.stdout.strip() == "Bearer literal-token-123"


def test_import_and_server_logs_are_private(tmp_path: Path, isolated: Path) -> None:
    """Imported env values are secrets, and a server's stderr log may print them."""
    source = tmp_path / "claude.json"
    source.write_text(
        json.dumps(
            {"mcpServers": {"noisy": {"command": "sh", "args": ["-c", "echo $T >&2"], "env": {"T": "x"}}}}
        )
    )
    assert run_cli("mcp", "import", str(source)).returncode == 0
    config = isolated / "config"
    assert (config.stat().st_mode & 0o777) == 0o700
    run_cli("mcp", "list")
    log = isolated / "logs" / "mcp-noisy.log"
    assert log.exists() and (log.stat().st_mode & 0o777) == 0o600
