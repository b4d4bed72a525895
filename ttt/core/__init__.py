"""ttt's engine: backends, routing, tools, config and sessions. Never imports Textual."""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ask": "ttt.core.api",
    "stream": "ttt.core.api",
    "chat": "ttt.core.api",
    "ask_async": "ttt.core.api",
    "stream_async": "ttt.core.api",
    "achat": "ttt.core.api",
    "compare": "ttt.core.api",
    "compare_async": "ttt.core.api",
    "configure": "ttt.core.api",
    "AIResponse": "ttt.core.types",
    "Message": "ttt.core.types",
    "tool": "ttt.core.tools.base",
    "tool_registry": "ttt.core.tools.registry",
    "ChatSession": "ttt.core.session.chat",
    "PersistentChatSession": "ttt.core.session.persistent",
    "Backend": "ttt.core.backends.base",
    "BaseBackend": "ttt.core.backends.base",
    "ModelInfo": "ttt.core.models",
    "model_registry": "ttt.core.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import on first use, so `import ttt.core` stays fast."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ttt.core' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
