"""Selectors, enable/disable, explicit registration and ``ttt.tools`` entry point plugins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from ttt.core.errors import ConfigurationError
from ttt.core.tools.base import Tool
from ttt.core.tools.registry import ToolRegistry, tool_registry

BUILTINS = {
    "get_current_time",
    "calculate",
    "read_file",
    "write_file",
    "list_directory",
    "run_python",
    "http_request",
    "web_search",
}


def local_tool(word: str) -> str:
    """Repeat a word."""
    return word * 2


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(plugins=False)


def names(tools: list[Tool]) -> list[str]:
    return [t.name for t in tools]


def test_builtins_load_lazily_with_categories_and_permissions(registry: ToolRegistry) -> None:
    assert {t.name for t in registry.list()} == BUILTINS
    assert registry.categories() == ["code", "file", "math", "network", "time"]
    assert names(registry.list("file")) == ["list_directory", "read_file", "write_file"]
    asks = {t.name for t in registry.list() if t.permission == "ask"}
    assert asks == {"write_file", "run_python", "http_request", "web_search"}
    assert {t.name for t in tool_registry.list()} >= BUILTINS


def test_resolve_selectors(registry: ToolRegistry) -> None:
    assert names(registry.resolve(["get_current_time", "calculate"])) == ["get_current_time", "calculate"]
    assert names(registry.resolve("get_current_time, calculate")) == ["get_current_time", "calculate"]
    assert names(registry.resolve(["category:file"])) == ["list_directory", "read_file", "write_file"]
    assert set(names(registry.resolve("all"))) == BUILTINS
    assert names(registry.resolve(["calculate", "category:math", "all"]))[0] == "calculate"
    assert len(registry.resolve(["calculate", "category:math", "all"])) == len(BUILTINS)  # no duplicates
    assert registry.resolve(None) == [] and registry.resolve([]) == []


def test_resolve_functions_and_tool_objects(registry: ToolRegistry) -> None:
    resolved = registry.resolve([local_tool, "calculate"])
    assert names(resolved) == ["local_tool", "calculate"]
    assert resolved[0].func is local_tool and resolved[0].description == "Repeat a word."
    made = Tool.from_function(local_tool, name="twice")
    assert registry.resolve(made) == [made]
    # a function registered with options keeps them when passed as a function
    registry.register(Tool.from_function(local_tool, category="words", permission="deny"))
    assert registry.resolve([local_tool])[0].permission == "deny"


def test_unknown_names_suggest_close_matches(registry: ToolRegistry) -> None:
    with pytest.raises(
        ConfigurationError, match=r"Unknown tool 'get_curent_time'\. Did you mean get_current_time"
    ):
        registry.resolve(["get_curent_time"])
    with pytest.raises(
        ConfigurationError, match=r"Unknown tool category 'files'\. Known categories: code, file"
    ):
        registry.resolve(["category:files"])
    with pytest.raises(ConfigurationError, match="is not a tool"):
        registry.resolve([42])  # type: ignore[list-item]


def test_two_different_tools_with_one_name_are_refused(registry: ToolRegistry) -> None:
    def calculate(expression: str) -> str:
        """Another calculator."""
        return expression

    with pytest.raises(ConfigurationError, match="Two different tools are named 'calculate'"):
        registry.resolve(["calculate", calculate])


def test_enable_and_disable(registry: ToolRegistry) -> None:
    registry.disable("category:network", "run_python")
    assert "http_request" not in names(registry.resolve("all"))
    assert names(registry.list(enabled_only=True)) == names(registry.resolve("all"))
    assert len(registry.list()) == len(BUILTINS)  # still listed, marked disabled
    assert not registry.is_enabled("web_search")
    with pytest.raises(ConfigurationError, match="Tool 'run_python' is disabled"):
        registry.resolve(["run_python"])
    assert registry.resolve("category:network") == []
    registry.enable("all")
    assert set(names(registry.resolve("all"))) == BUILTINS
    with pytest.raises(ConfigurationError, match="Unknown tool"):
        registry.disable("nope")


def test_explicit_registration_wins_over_builtins() -> None:
    registry = ToolRegistry(plugins=False)

    def get_current_time(timezone: str = "UTC") -> str:
        """A frozen clock."""
        return "noon"

    mine = registry.register(get_current_time)  # before the built-ins are loaded
    assert registry.get("get_current_time") is mine
    registry.unregister("get_current_time")
    assert registry.get("get_current_time") is None


def _install_plugin(root: Path, module: str, entry_points: str) -> None:
    """A real distribution on sys.path: importlib.metadata finds its entry points itself."""
    (root / f"{module}.py").write_text(
        textwrap.dedent(
            '''
            from ttt.core.tools.base import Tool, tool

            def shout(text: str) -> str:
                """Upper-case text."""
                return text.upper()

            @tool(category="plugin", register=False)
            def whisper(text: str) -> str:
                """Lower-case text."""
                return text.lower()

            def echo(text: str) -> str:
                """Echo text."""
                return text

            TOOLS = [shout, whisper]
            NOT_A_TOOL = 42
            '''
        )
    )
    dist = root / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[ttt.tools]\n{entry_points}\n")


def test_entry_point_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = "ttt_test_plugin_tools"
    _install_plugin(
        tmp_path,
        module,
        f"several = {module}:TOOLS\none = {module}:echo\nbroken = {module}:NOT_A_TOOL\nmissing = nowhere:thing",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    registry = ToolRegistry()
    assert names(registry.resolve(["shout", "whisper", "echo"])) == ["shout", "whisper", "echo"]
    assert registry.get("whisper").category == "plugin"  # type: ignore[union-attr]
    assert registry.get("shout").category == "custom"  # type: ignore[union-attr]
    assert {error.split(":")[0] for error in registry.plugin_errors} == {"broken", "missing"}
    assert {t.name for t in registry.list()} >= BUILTINS
