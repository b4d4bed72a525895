"""The cloud backend: hosted and remote models, on two paths.

Providers that speak the OpenAI protocol (``openai/``, ``openrouter/``, ``groq/``, any
``[providers.<name>]`` endpoint, ``openai/`` with ``OPENAI_BASE_URL``) go through the official
``openai`` client: it imports in about a second and spends a fraction of LiteLLM's CPU per
chunk. Everything else (``anthropic/``, ``gemini/``, ``bedrock/``, any LiteLLM model string)
goes through LiteLLM, imported only when such a model is first used. Both paths feed the same
chunk translator (``openai_stream``) and the same error map.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ttt.core.backends.base import Backend, BackendStatus, BaseBackend
from ttt.core.backends.error_map import map_error
from ttt.core.backends.openai_stream import ChunkTranslator, to_openai_messages, to_openai_tools
from ttt.core.errors import AIError, APIKeyError, ConfigurationError
from ttt.core.models import OPENAI_PROTOCOL, PROVIDER_KEYS, ModelInfo, model_registry
from ttt.core.types import ChatRequest, StreamEvent, Usage

if TYPE_CHECKING:
    from types import ModuleType

    import openai

    from ttt.core.config import Config

# Known providers with a protocol of their own: a `[providers.<name>]` base_url for one of these
# is a proxy for that protocol, served by LiteLLM with `api_base`, not an OpenAI endpoint.
LITELLM_NATIVE = frozenset(PROVIDER_KEYS) - frozenset(OPENAI_PROTOCOL)
# Providers whose credentials need not be in one variable (AWS profiles, instance roles).
_AMBIENT_CREDENTIALS = frozenset({"bedrock"})
NO_KEY = "not-needed"  # sent to a keyless local server (LM Studio, vLLM, llama.cpp)
LIST_TIMEOUT = 5.0  # seconds for `/v1/models` on a custom endpoint
LIST_CACHE_SECONDS = 30.0  # how long `served` reuses an endpoint's list


@dataclass(frozen=True)
class CloudRoute:
    """How one model string is served: which path, endpoint, wire name and key."""

    provider: str
    wire_model: str  # the name the endpoint expects (prefix stripped on the fast path)
    base_url: str  # "" lets LiteLLM pick the provider's own endpoint
    key_env: str  # the variable that holds the key ("" when unknown)
    key_required: bool
    litellm: bool
    url_setting: str = ""  # where base_url came from, for errors about it

    @property
    def api_key(self) -> str:
        return os.environ.get(self.key_env, "") if self.key_env else ""


def resolve(model: str, config: Config) -> CloudRoute:
    """Decide the path for ``provider/model``; no network, no imports."""
    provider, sep, rest = model.partition("/")
    if not sep:
        return CloudRoute("", model, "", "", False, True)
    custom = config.providers.get(provider)
    env_url = os.environ.get("OPENAI_BASE_URL", "") if provider == "openai" else ""
    if custom is not None and provider not in LITELLM_NATIVE:
        own_url = custom.base_url or env_url
        base_url = own_url or OPENAI_PROTOCOL.get(provider, "")
        if not base_url:
            raise ConfigurationError(
                f"[providers.{provider}] has no base_url: set it to the server's OpenAI-compatible URL."
            )
        key_env = custom.api_key_env or PROVIDER_KEYS.get(provider, "")
        required = not own_url or bool(custom.api_key_env)  # a custom server may need no key
        setting = f"providers.{provider}.base_url" if custom.base_url else "OPENAI_BASE_URL"
        return CloudRoute(provider, rest, base_url.rstrip("/"), key_env, required, False, setting)
    if env_url:
        return CloudRoute(
            provider, rest, env_url.rstrip("/"), "OPENAI_API_KEY", False, False, "OPENAI_BASE_URL"
        )
    if provider in OPENAI_PROTOCOL:
        return CloudRoute(
            provider, rest, OPENAI_PROTOCOL[provider], PROVIDER_KEYS.get(provider, ""), True, False
        )
    key_env = (custom.api_key_env if custom else "") or PROVIDER_KEYS.get(provider, "")
    base_url = custom.base_url if custom else ""
    required = bool(key_env) and not base_url and provider not in _AMBIENT_CREDENTIALS
    return CloudRoute(provider, model, base_url, key_env, required, True, f"providers.{provider}.base_url")


def load_litellm() -> ModuleType:
    """Import LiteLLM quietly and offline (its cost map from the package, no banners)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        # its handler writes records below WARNING to stdout; let ttt's logging decide instead
        logging.getLogger(name).handlers.clear()
    # pydantic complains about LiteLLM's own types the first time a stream is parsed
    warnings.filterwarnings("ignore", message=r".*is using the `ReadOnly` qualifier", category=UserWarning)
    return litellm


class CloudBackend(BaseBackend):
    """Hosted models: the ``openai`` client for OpenAI-protocol providers, LiteLLM for the rest."""

    name: ClassVar[str] = "cloud"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._clients: dict[tuple[str, str], openai.AsyncOpenAI] = {}
        self._served: dict[str, tuple[float, list[str]]] = {}

    def route(self, model: str) -> CloudRoute:
        return resolve(model, self.config)

    def check_transport(self, route: CloudRoute, key: str, url: str = "") -> None:
        """Refuse to send ``key`` in clear text off this machine (``url``: the route's endpoint
        unless a client found another)."""
        url = url or route.base_url
        if key and key != NO_KEY and url:
            from ttt.core.backends import http

            connection = self.config.connection(self.name)
            setting = (
                route.url_setting if url == route.base_url else f"LiteLLM's API base for {route.provider}"
            )
            http.check_key_transport(
                url, setting=setting, key_env=route.key_env, backend=self.name, connection=connection
            )

    def client(self, base_url: str, api_key: str) -> openai.AsyncOpenAI:
        """The ``openai`` client for one endpoint and key, created once and reused."""
        found = self._clients.get((base_url, api_key))
        if found is None:
            import openai

            from ttt.core.backends import http

            connection = self.config.connection(self.name)
            limits = http.limits(connection, type(openai.DEFAULT_CONNECTION_LIMITS))
            verify = http.tls_verify(base_url, connection.ca_bundle, f"backends.{self.name}.ca_bundle")
            client = openai.DefaultAsyncHttpxClient(verify=verify, limits=limits)
            found = openai.AsyncOpenAI(
                base_url=base_url,
                api_key=api_key,
                max_retries=0,  # the engine retries, with its own backoff
                timeout=http.timeout(connection, openai.Timeout),
                http_client=client,
            )
            self._clients[(base_url, api_key)] = found
        return found

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one request; ``request.stream=False`` makes one non-streamed call."""
        route = self.route(request.model)
        key = route.api_key
        if route.key_required and not key:
            raise APIKeyError(
                f"No API key for {route.provider}: set {route.key_env} (export {route.key_env}=...).",
                backend=self.name,
                model=request.model,
            )
        translator = ChunkTranslator()
        try:
            self.check_transport(route, key)
            if route.litellm:
                events = self._litellm(route, key, request, translator)
            else:
                events = self._openai(route, key or NO_KEY, request, translator)
            async for event in events:
                yield event
        except Exception as exc:
            raise map_error(
                exc, backend=self.name, model=request.model, base_url=route.base_url, key_env=route.key_env
            ) from exc

    def _common(self, request: ChatRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"messages": to_openai_messages(request.messages)}
        if request.tools:
            kwargs["tools"] = to_openai_tools(request.tools)
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        return kwargs

    async def _openai(
        self, route: CloudRoute, key: str, request: ChatRequest, translator: ChunkTranslator
    ) -> AsyncIterator[StreamEvent]:
        client = self.client(route.base_url, key)
        kwargs = self._common(request)
        if request.max_tokens is not None:
            # OpenAI's reasoning models accept only the new name; compatible servers know the old one
            official = route.provider == "openai" and route.base_url == OPENAI_PROTOCOL["openai"]
            kwargs["max_completion_tokens" if official else "max_tokens"] = request.max_tokens
        if request.options:
            kwargs["extra_body"] = dict(request.options)
        create = client.chat.completions.create
        if request.stream:
            stream = await create(
                model=route.wire_model, stream=True, stream_options={"include_usage": True}, **kwargs
            )
            async with stream:  # closes the response if the consumer stops early
                async for chunk in stream:
                    for event in translator.feed(chunk):
                        yield event
        else:
            for event in translator.feed_completion(await create(model=route.wire_model, **kwargs)):
                yield event
        for event in translator.close(_registry_cost(request.model, translator.usage)):
            yield event

    async def _litellm(
        self, route: CloudRoute, key: str, request: ChatRequest, translator: ChunkTranslator
    ) -> AsyncIterator[StreamEvent]:
        # the first import takes seconds: keep it off the event loop (a TUI stays responsive)
        litellm = load_litellm() if "litellm" in sys.modules else await asyncio.to_thread(load_litellm)
        self.check_transport(route, *_litellm_endpoint(litellm, route, key))
        kwargs = self._common(request)
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if route.base_url:
            kwargs["api_base"] = route.base_url
        if key:
            kwargs["api_key"] = key
        kwargs.update(request.options)
        from ttt.core.backends import http

        connection = self.config.connection(self.name)
        # explicit, so LiteLLM's own SSL_VERIFY=false can't turn verification off unseen
        kwargs["ssl_verify"] = http.ca_file(connection.ca_bundle, f"backends.{self.name}.ca_bundle") or True
        kwargs.update(model=route.wire_model, num_retries=0, timeout=connection.read_timeout)
        if request.stream:
            stream = await litellm.acompletion(stream=True, stream_options={"include_usage": True}, **kwargs)
            async with contextlib.aclosing(stream):  # closes the response if the consumer stops early
                async for chunk in stream:
                    for event in translator.feed(chunk):
                        yield event
        else:
            for event in translator.feed_completion(await litellm.acompletion(**kwargs)):
                yield event
        cost = _litellm_cost(litellm, route.wire_model, translator.usage)
        if cost is None:
            cost = _registry_cost(request.model, translator.usage)
        for event in translator.close(cost):
            yield event

    def _endpoints(self) -> dict[str, CloudRoute]:
        """Custom OpenAI-compatible endpoints: provider -> the route all its models share."""
        names = [p for p, c in self.config.providers.items() if c.base_url and p not in LITELLM_NATIVE]
        if os.environ.get("OPENAI_BASE_URL") and "openai" not in names:
            names.append("openai")
        return {provider: self.route(f"{provider}/") for provider in names}

    async def _list(self, route: CloudRoute) -> list[str]:
        self.check_transport(route, route.api_key)
        client = self.client(route.base_url, route.api_key or NO_KEY)
        page = await asyncio.wait_for(client.models.list(), LIST_TIMEOUT)
        return [m.id for m in page.data]

    async def served(self, provider: str) -> list[str]:
        """The model ids ``provider``'s custom endpoint serves (its ``/v1/models``), reused for a
        while; raises the AIError that says why the endpoint can't be listed."""
        cached = self._served.get(provider)
        if cached is not None and time.monotonic() - cached[0] < LIST_CACHE_SECONDS:
            return cached[1]
        route = self._endpoints()[provider]
        try:
            ids = await self._list(route)
        except Exception as exc:
            raise map_error(exc, backend=self.name, model=f"{provider}/", base_url=route.base_url) from exc
        self._served[provider] = (time.monotonic(), ids)
        return ids

    async def _probe(self) -> dict[str, list[str] | AIError]:
        """``/v1/models`` of every custom endpoint, concurrently: ids (kept for ``served``), or why
        it failed."""
        endpoints = self._endpoints()
        results = await asyncio.gather(*map(self._list, endpoints.values()), return_exceptions=True)
        out: dict[str, list[str] | AIError] = {}
        for (provider, route), result in zip(endpoints.items(), results, strict=True):
            if isinstance(result, BaseException):
                result = map_error(result, backend=self.name, model=f"{provider}/", base_url=route.base_url)
            else:
                self._served[provider] = (time.monotonic(), result)
            out[provider] = result
        return out

    async def models(self) -> list[ModelInfo]:
        """Registry models (available when their key is set, or, for a provider served by a custom
        endpoint that lists its models, when it lists them) and every custom endpoint's models."""
        found: dict[str, ModelInfo] = {}
        others = {name for name in Backend.names() if name != self.name} | {"ollama"}  # ollama/ is local's
        probed = await self._probe()
        for info in model_registry.list():
            if info.provider in others:
                continue
            route = self.route(info.name)
            available = bool(route.api_key) or not route.key_required if route.key_env else None
            listed = probed.get(info.provider)
            if isinstance(listed, list):  # a custom endpoint serves this provider: what it lists, it has
                available = route.wire_model in listed
            found[info.name] = replace(info, backend=self.name, available=available)
        for provider, ids in probed.items():
            if isinstance(ids, AIError):
                continue
            for model_id in ids:
                name = f"{provider}/{model_id}"
                known = model_registry.get(name)
                info = replace(known) if known else ModelInfo(name, provider)
                found[name] = replace(info, backend=self.name, available=True)
        return list(found.values())

    def _keys(self) -> dict[str, bool]:
        names = set(PROVIDER_KEYS.values()) | {c.api_key_env for c in self.config.providers.values()}
        return {name: bool(os.environ.get(name)) for name in sorted(names - {""})}

    async def status(self) -> BackendStatus:
        """Which keys are set (names only) and whether custom endpoints answer."""
        keys = self._keys()
        notes = []
        set_names = [name for name, present in keys.items() if present]
        notes.append(f"keys set: {', '.join(set_names)}" if set_names else "no API keys set")
        reachable = False
        for provider, result in (await self._probe()).items():
            if isinstance(result, AIError):
                notes.append(f"{provider}: {result.message}")
            else:
                reachable = True
                notes.append(f"{provider}: reachable ({len(result)} models)")
        return BackendStatus(self.name, bool(set_names) or reachable, "; ".join(notes), keys)

    @property
    def is_available(self) -> bool:
        """Configured at all: some provider key is set or a custom endpoint is configured."""
        return any(self._keys().values()) or bool(self._endpoints())

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def _litellm_endpoint(litellm: Any, route: CloudRoute, key: str) -> tuple[str, str]:
    """(key, URL) LiteLLM will use for ``route``: ours, or what it finds in its own variables
    (``HOSTED_VLLM_API_BASE`` and the like)."""
    if route.base_url:
        return key, route.base_url
    try:
        _, _, own_key, api_base = litellm.get_llm_provider(route.wire_model)
    except Exception:  # a model string LiteLLM can't place fails on the request itself
        return key, ""
    return key or own_key or "", api_base or ""


def _registry_cost(model: str, usage: Usage | None) -> float | None:
    info = model_registry.get(model)
    return info.cost(usage.input_tokens, usage.output_tokens) if info and usage else None


def _litellm_cost(litellm: Any, model: str, usage: Usage | None) -> float | None:
    """LiteLLM's price for the tokens, when its (bundled) cost map knows the model."""
    if usage is None:
        return None
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens
        )
    except Exception:  # unknown to its cost map
        return None
    return float(prompt) + float(completion)
