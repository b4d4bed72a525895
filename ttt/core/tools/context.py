"""The ``ToolsConfig`` a running tool sees.

Built-in tools need settings (workspace, limits, search URL) but keep model-facing signatures, so
the executor publishes its config in a context variable for the duration of each call. Context
variables follow the call into ``asyncio.to_thread`` and stay separate between concurrent calls.
Called outside an executor (a tool used as a plain function), tools see the defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from ttt.core.config import ToolsConfig

_current: ContextVar[ToolsConfig | None] = ContextVar("ttt_tools_config", default=None)


def current_tools_config() -> ToolsConfig:
    """The config of the executor running this call, else ``ToolsConfig()``."""
    return _current.get() or ToolsConfig()


@contextmanager
def use_tools_config(config: ToolsConfig) -> Iterator[ToolsConfig]:
    """Make ``config`` current inside the block (the executor wraps every call in this)."""
    token = _current.set(config)
    try:
        yield config
    finally:
        _current.reset(token)


def workspace_root() -> Path:
    """The directory file tools are confined to, symlinks resolved: ``workspace`` or the current directory."""
    configured = current_tools_config().workspace
    return (Path(configured).expanduser() if configured else Path.cwd()).resolve()
