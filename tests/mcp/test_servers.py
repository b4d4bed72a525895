"""What needs no server: tool names every provider accepts, ${VAR} references, the JSON import."""

from __future__ import annotations

import re

import pytest

from ttt.core.config_sections import McpServerConfig
from ttt.core.errors import ConfigurationError, ToolExecutionError
from ttt.core.tools.mcp.servers import expand, import_servers, scrub, tool_name


def test_tool_names_are_namespaced_safe_and_short() -> None:
    assert tool_name("git", "git_status") == "mcp__git__git_status"
    assert tool_name("my server", "do.thing/now") == "mcp__my_server__do_thing_now"
    long_a, long_b = tool_name("s", "a" * 80), tool_name("s", "a" * 79 + "b")
    assert len(long_a) == 64 and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", long_a) and long_a != long_b


def test_references_expand_and_a_missing_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH", "tok-1234")
    assert expand({"A": "Bearer ${GH}", "B": "plain"}, "x") == {"A": "Bearer tok-1234", "B": "plain"}
    monkeypatch.delenv("GH")
    with pytest.raises(ToolExecutionError, match=r"x refers to \$\{GH\}, which is not set"):
        expand({"A": "${GH}"}, "x")


def test_scrub_hides_the_servers_values_and_control_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH", "tok-1234")
    config = McpServerConfig(env={"T": "${GH}"}, headers={"X": "literal-secret"})
    assert scrub("tok-1234 literal-secret \x1b[31mred", config) == "[REDACTED] [REDACTED] red"


def test_import_maps_the_common_keys() -> None:
    tables = import_servers(
        {"mcpServers": {"a b": {"command": "npx", "args": ["-y", 1], "timeout": 60000, "disabled": True}}}
    )
    assert tables == {"a_b": {"command": "npx", "args": ["-y", "1"], "enabled": False, "timeout": 60.0}}
    with pytest.raises(ConfigurationError, match="neither a command nor a url"):
        import_servers({"mcpServers": {"x": {"args": []}}})
