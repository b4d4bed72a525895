"""A tiny ttt plugin: a backend serving ``demo/*`` models and a config loader.

Both are found through entry points (``ttt.backends``, ``ttt.config_loaders``) once the package
is installed; ttt imports nothing from here by name.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from ttt.core.backends.base import BackendStatus, BaseBackend
from ttt.core.models import ModelInfo, model_registry
from ttt.core.types import ChatRequest, Finish, StreamEvent, TextDelta, Usage


class DemoLoader:
    """Settings from the JSON file named by ``TTT_DEMO_CONFIG`` (nothing when it is unset)."""

    def load(self) -> dict[str, Any]:
        path = os.environ.get("TTT_DEMO_CONFIG")
        return json.loads(Path(path).read_text(encoding="utf-8")) if path else {}


class DemoBackend(BaseBackend):
    """Answers every request with what it was asked, and how many images came with it."""

    name: ClassVar[str] = "demo"

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        last = request.messages[-1]
        text = f"demo {request.model} heard: {last.text}"
        if last.images:
            text += f" [{len(last.images)} image(s), sha256 {last.images[0].sha256[:12]}]"
        yield TextDelta(text)
        yield Usage(len(last.text.split()), len(text.split()), cost=0.0)
        yield Finish()

    async def models(self) -> list[ModelInfo]:
        """Its two models, and any model registered for the ``demo`` provider."""
        own = [
            ModelInfo("demo/echo", "demo", ["text", "code"], 4096),
            ModelInfo("demo/eye", "demo", ["text", "vision"], 4096),
        ]
        added = [m for m in model_registry.list() if m.provider == "demo"]
        return [replace(m, backend=self.name, available=True) for m in [*own, *added]]

    async def status(self) -> BackendStatus:
        return BackendStatus(self.name, True, "always ready")
