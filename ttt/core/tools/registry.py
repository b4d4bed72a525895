"""Where tools are found by name: built-ins, ``@tool``-registered functions and plugins.

Built-ins and the ``ttt.tools`` entry point group load on first lookup, so importing ttt stays
cheap and a broken plugin only costs a warning. Explicit registrations win over both.
"""

from __future__ import annotations

import builtins
import difflib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from ttt.core.errors import ConfigurationError
from ttt.core.plugins import plugin_entry_points
from ttt.core.tools.base import Tool

ENTRY_POINT_GROUP = "ttt.tools"
Selector = Tool | Callable[..., Any] | str

log = logging.getLogger(__name__)


class ToolRegistry:
    """Named tools with categories and an enabled/disabled switch."""

    def __init__(self, *, builtins: bool = True, plugins: bool = True) -> None:
        self._tools: dict[str, Tool] = {}
        self._disabled: set[str] = set()
        self._pending_builtins = builtins
        self._pending_plugins = plugins
        self.plugin_errors: list[str] = []  # "entry point: reason", for `ttt tools` to show

    def register(self, tool: Tool | Callable[..., Any]) -> Tool:
        """Add (or replace) a tool; a plain function becomes a ``Tool`` first. Returns the tool."""
        made = Tool.from_function(tool)
        self._tools[made.name] = made
        return made

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)
        self._disabled.discard(name)

    def get(self, name: str) -> Tool | None:
        self._load()
        return self._tools.get(name)

    def list(self, category: str | None = None, *, enabled_only: bool = False) -> builtins.list[Tool]:
        """Tools sorted by category then name, optionally one category or only enabled ones."""
        self._load()
        return sorted(
            (
                t
                for t in self._tools.values()
                if (category is None or t.category == category)
                and not (enabled_only and t.name in self._disabled)
            ),
            key=lambda t: (t.category, t.name),
        )

    def categories(self) -> builtins.list[str]:
        self._load()
        return sorted({t.category for t in self._tools.values()})

    def is_enabled(self, name: str) -> bool:
        return name not in self._disabled

    def enable(self, *selectors: str) -> None:
        """Enable tools by name, ``category:x`` or ``all``."""
        for selector in selectors:
            self._disabled.difference_update(t.name for t in self._lookup(selector, include_disabled=True))

    def disable(self, *selectors: str) -> None:
        """Disable tools: they are no longer offered, even when named."""
        for selector in selectors:
            self._disabled.update(t.name for t in self._lookup(selector, include_disabled=True))

    def resolve(self, selectors: Selector | Iterable[Selector] | None) -> builtins.list[Tool]:
        """The tools to offer a model, in order, without duplicates.

        A selector is a ``Tool``, a function, a name, ``category:<name>``, ``all``, or a
        comma-separated string of those. Unknown or disabled names raise ``ConfigurationError``.
        """
        if selectors is None:
            return []
        if isinstance(selectors, str | Tool) or callable(selectors):
            selectors = [selectors]
        chosen: dict[str, Tool] = {}
        for selector in selectors:
            for found in self._select(selector):
                existing = chosen.setdefault(found.name, found)
                if existing.func is not found.func:
                    raise ConfigurationError(f"Two different tools are named '{found.name}'; rename one.")
        return list(chosen.values())

    def _select(self, selector: Selector) -> builtins.list[Tool]:
        if isinstance(selector, Tool):
            return [selector]
        if isinstance(selector, str):
            return [t for part in selector.split(",") if part.strip() for t in self._lookup(part.strip())]
        if callable(selector):
            registered = next((t for t in self._tools.values() if t.func is selector), None)
            return [registered or Tool.from_function(selector)]
        raise ConfigurationError(f"{selector!r} is not a tool: pass a function, a Tool or a tool name.")

    def _lookup(self, selector: str, *, include_disabled: bool = False) -> builtins.list[Tool]:
        self._load()
        if selector == "all":
            return self.list(enabled_only=not include_disabled)
        if selector.startswith("category:"):
            category = selector.removeprefix("category:")
            if category not in self.categories():
                known = ", ".join(self.categories())
                raise ConfigurationError(f"Unknown tool category '{category}'. Known categories: {known}.")
            return self.list(category, enabled_only=not include_disabled)
        found = self._tools.get(selector)
        if found is None:
            choices = [*self._tools, *(f"category:{c}" for c in self.categories()), "all"]
            close = difflib.get_close_matches(selector, choices, n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise ConfigurationError(f"Unknown tool '{selector}'.{hint} Run `ttt tools` to see the tools.")
        if not include_disabled and selector in self._disabled:
            raise ConfigurationError(
                f"Tool '{selector}' is disabled; enable it with tool_registry.enable('{selector}')."
            )
        return [found]

    def _load(self) -> None:
        """Import the built-ins and plugins once; names registered explicitly are kept."""
        if self._pending_builtins:
            self._pending_builtins = False
            from ttt.core.tools.builtins import BUILTIN_TOOLS

            for builtin in BUILTIN_TOOLS:
                self._tools.setdefault(builtin.name, builtin)
        if self._pending_plugins:
            self._pending_plugins = False
            for entry_point in plugin_entry_points(ENTRY_POINT_GROUP):
                try:
                    for plugin_tool in _as_tools(entry_point.load()):
                        self._tools.setdefault(plugin_tool.name, plugin_tool)
                except Exception as exc:
                    log.warning("tool plugin %s failed to load: %s", entry_point.name, exc)
                    self.plugin_errors.append(f"{entry_point.name}: {exc}")


def _as_tools(value: Any) -> list[Tool]:
    """An entry point may name a Tool, a function, or a list of either."""
    if isinstance(value, list | tuple):
        return [t for item in value for t in _as_tools(item)]
    if isinstance(value, Tool) or callable(value):
        return [Tool.from_function(value)]
    raise TypeError(f"expected a Tool, a function or a list of them, got {type(value).__name__}")


tool_registry = ToolRegistry()
