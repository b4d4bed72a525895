"""The backend interface and its factory.

A backend turns a provider-neutral ``ChatRequest`` into provider calls and yields
``StreamEvent``s back (text/thinking deltas, tool-call start/delta/ready, usage, finish). It
raises only ``ttt.core.errors`` exceptions. Plugins add backends through the ``ttt.backends``
entry point group or ``Backend.register``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ttt.core.errors import ConfigurationError
from ttt.core.plugins import plugin_entry_points
from ttt.core.types import (
    AIResponse,
    ChatRequest,
    Reply,
    StreamEvent,
)

if TYPE_CHECKING:
    from ttt.core.config import Config
    from ttt.core.models import ModelInfo


@dataclass
class BackendStatus:
    """What `ttt status` shows for one backend. ``detail`` never contains a secret."""

    name: str
    available: bool
    detail: str = ""
    keys: dict[str, bool] = field(default_factory=dict)


class BaseBackend(ABC):
    """Subclass this for a custom backend; ``name`` is also the model-string prefix users type."""

    name: ClassVar[str] = ""

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one request's events, ending with ``Finish``."""

    async def ask(self, request: ChatRequest) -> AIResponse:
        """Collect the stream into one response (backends may override with a non-streaming call)."""
        reply = Reply()
        async for event in self.astream(request):
            reply.add(event)
        return AIResponse(
            text="".join(reply.text),
            model=request.model,
            backend=self.name,
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            cost=reply.usage.cost,
            finish_reason=reply.finish,
            thinking="".join(reply.thinking),
        )

    @abstractmethod
    async def models(self) -> list[ModelInfo]:
        """Every model this backend can serve now."""

    @abstractmethod
    async def status(self) -> BackendStatus:
        """Whether the backend is reachable, and why not."""

    @property
    def is_available(self) -> bool:
        """A cheap check with no network: is this backend configured at all?"""
        return True

    async def aclose(self) -> None:
        """Release clients and processes."""


class Backend:
    """Factory: ``Backend.create("local", config)``; built-ins, registered classes and plugins."""

    _registry: ClassVar[dict[str, type[BaseBackend]]] = {}
    _builtins: ClassVar[dict[str, str]] = {
        "cloud": "ttt.core.backends.cloud:CloudBackend",
        "local": "ttt.core.backends.local:LocalBackend",
        "llamacpp": "ttt.core.backends.llamacpp:LlamaCppBackend",
    }

    @classmethod
    def register(cls, backend: type[BaseBackend], name: str | None = None) -> type[BaseBackend]:
        cls._registry[name or backend.name] = backend
        return backend

    @classmethod
    def names(cls) -> list[str]:
        plugins = [ep.name for ep in plugin_entry_points("ttt.backends")]
        return list(dict.fromkeys([*cls._builtins, *cls._registry, *plugins]))

    @classmethod
    def get_class(cls, name: str) -> type[BaseBackend]:
        if name in cls._registry:
            return cls._registry[name]
        target = cls._builtins.get(name)
        if target is None:
            found = [ep for ep in plugin_entry_points("ttt.backends") if ep.name == name]
            if not found:
                raise ConfigurationError(
                    f"Unknown backend '{name}'. Known backends: {', '.join(cls.names())}."
                )
            loaded = found[0].load()
        else:
            module, _, attr = target.partition(":")
            loaded = getattr(__import__(module, fromlist=[attr]), attr)
        cls._registry[name] = loaded
        return loaded

    @classmethod
    def create(cls, name: str, config: Config) -> BaseBackend:
        return cls.get_class(name)(config)
