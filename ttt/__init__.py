"""ttt: a terminal-native LLM workbench. ``from ttt import ask, stream, chat``."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    import ttt.core

    return getattr(ttt.core, name)


def __dir__() -> list[str]:
    import ttt.core

    return [*ttt.core.__all__, "__version__"]
