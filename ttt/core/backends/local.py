"""The local backend: an Ollama server through the official ``ollama`` client.

One ``ollama.AsyncClient`` per backend instance, reused by every request (keep-alive, no
per-request client start-up). Model names here are Ollama's own (``llama3.2``); the router
strips the ``ollama/`` prefix before a request reaches this backend.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import ollama

from ttt.core.backends import http
from ttt.core.backends.base import BackendStatus, BaseBackend
from ttt.core.backends.error_map import map_error
from ttt.core.backends.openai_stream import image_base64, ready_call, to_openai_tools, wire_order
from ttt.core.errors import AIError
from ttt.core.models import ModelInfo, apply_table, model_registry
from ttt.core.types import (
    ChatRequest,
    Finish,
    Message,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallReady,
    ToolCallStart,
    ToolResult,
    Usage,
)

if TYPE_CHECKING:
    from ttt.core.config import Config

DEFAULT_HOST = "http://localhost:11434"
MODEL_CACHE_SECONDS = 30.0
SHOW_BUDGET_SECONDS = 2.0  # `models()` waits at most this long for per-model details
_CAPABILITIES = {"completion": "text", "tools": "tools", "vision": "vision", "thinking": "reasoning"}


def display_name(name: str) -> str:
    """Ollama's name without the implicit ``:latest`` tag, as users type it."""
    return name.removesuffix(":latest")


def _tagged(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def to_ollama_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """ttt messages -> Ollama chat messages (images base64, tool calls, ``tool`` results)."""
    out: list[dict[str, Any]] = []
    for message in wire_order(messages):
        if isinstance(message, ToolResult):
            out.append({"role": "tool", "content": message.content, "tool_name": message.name})
            continue
        entry: dict[str, Any] = {"role": message.role, "content": message.text}
        if message.images:
            entry["images"] = [image_base64(image) for image in message.images]
        if message.tool_calls:
            entry["tool_calls"] = [
                {"function": {"name": call.name, "arguments": call.arguments}} for call in message.tool_calls
            ]
        out.append(entry)
    return out


class LocalBackend(BaseBackend):
    """Models served by Ollama (``ollama/<name>``)."""

    name: ClassVar[str] = "local"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.host = config.ollama.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self._host_setting = "ollama.host" if config.ollama.host else "OLLAMA_HOST"
        connection = config.connection(self.name)
        self.client = ollama.AsyncClient(
            host=self.host,
            timeout=http.timeout(connection, httpx.Timeout),
            limits=http.limits(connection, httpx.Limits),
            verify=http.tls_verify(self.host, connection.ca_bundle, f"backends.{self.name}.ca_bundle"),
        )
        self._names: tuple[float, list[str]] | None = None  # (when, tagged names as listed)
        self._details: dict[str, dict[str, Any]] | None = None  # digest -> what show said

    def _check_transport(self) -> None:
        """The ollama client sends ``OLLAMA_API_KEY`` with every request when it is set: never
        in clear text off this machine. Without a key (the usual local server) anything goes."""
        if self.client._client.headers.get("authorization"):
            http.check_key_transport(
                self.host,
                setting=self._host_setting,
                key_env="OLLAMA_API_KEY",
                backend=self.name,
                connection=self.config.connection(self.name),
            )

    def _error(self, exc: BaseException, model: str = "") -> AIError:
        return map_error(exc, backend=self.name, model=model, base_url=self.host, key_env="OLLAMA_API_KEY")

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one chat request; ``request.stream=False`` makes one non-streamed call."""
        options: dict[str, Any] = dict(request.options)
        think = options.pop("think", None)
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": to_ollama_messages(request.messages),
            "tools": to_openai_tools(request.tools) or None,
            "options": options or None,
            "think": think,
        }
        parts: Any = None
        calls = 0
        try:
            self._check_transport()
            if request.stream:
                parts = await self.client.chat(**kwargs, stream=True)
            else:
                parts = _once(await self.client.chat(**kwargs, stream=False))
            async for part in parts:
                message = part.message
                if message.thinking:
                    yield ThinkingDelta(message.thinking)
                if message.content:
                    yield TextDelta(message.content)
                for call in message.tool_calls or []:
                    raw = json.dumps(dict(call.function.arguments))
                    call_id = (
                        f"call_{secrets.token_hex(6)}"  # Ollama sends none; ids must differ across rounds
                    )
                    yield ToolCallStart(calls, call_id, call.function.name)
                    yield ToolCallDelta(calls, raw)
                    yield ToolCallReady(ready_call(call_id, call.function.name, raw))
                    calls += 1
                if part.done:
                    yield Usage(part.prompt_eval_count or 0, part.eval_count or 0, cost=0.0)
                    yield Finish("tool_calls" if calls else part.done_reason or "stop")
        except Exception as exc:
            raise self._error(exc, request.model) from exc
        finally:
            if parts is not None:
                await parts.aclose()

    async def _tags(self) -> list[Any]:
        """``/api/tags``; refreshes the name cache that ``has_model`` reads."""
        try:
            self._check_transport()
            listed = (await self.client.list()).models
        except Exception as exc:
            raise self._error(exc) from exc
        self._names = (time.monotonic(), [m.model or "" for m in listed])
        return list(listed)

    async def has_model(self, name: str) -> bool:
        """Is ``name`` (tag optional) pulled in Ollama? Cached for a while; False if unreachable."""
        if self._names is None or time.monotonic() - self._names[0] > MODEL_CACHE_SECONDS:
            try:
                await self._tags()
            except Exception:
                self._names = (time.monotonic(), [])
        return self._names is not None and _tagged(name.removeprefix("ollama/")) in self._names[1]

    async def model_names(self) -> list[str]:
        """The pulled models' names as users type them, from ``/api/tags`` alone (cached a while):
        what a request needs to pick a default, with none of the per-model ``/api/show`` calls of
        ``models``. Raises when Ollama can't be reached."""
        if (
            self._names is None
            or time.monotonic() - self._names[0] > MODEL_CACHE_SECONDS
            or not self._names[1]
        ):
            await self._tags()
        assert self._names is not None
        return [display_name(name) for name in self._names[1]]

    async def models(self) -> list[ModelInfo]:
        """Every pulled model, with context length and capabilities when ``/api/show`` answers fast.

        Details are kept on disk by digest, so ``show`` runs only for models never seen before
        (concurrently, bounded by ``SHOW_BUDGET_SECONDS``): a one-shot with ``-m auto`` does not
        ask about every installed model. A model whose details are missing is still listed.
        """
        listed = await self._tags()
        if self._details is None:
            self._details = _load_details()
        unknown = [m for m in listed if (m.digest or "") not in self._details]
        if unknown:
            tasks = [asyncio.ensure_future(self._show(m.model or "", m.digest or "")) for m in unknown]
            _, pending = await asyncio.wait(tasks, timeout=SHOW_BUDGET_SECONDS)
            for task in pending:
                task.cancel()
            _save_details({d: shown for d, shown in self._details.items() if shown})
        return [self._info(m.model or "", self._details.get(m.digest or "", {})) for m in listed]

    async def _show(self, name: str, digest: str) -> None:
        assert self._details is not None
        try:
            shown = await self.client.show(name)
        except Exception:
            self._details[digest] = {}  # asked once per process; not kept on disk
            return
        caps = [_CAPABILITIES[c] for c in shown.capabilities or [] if c in _CAPABILITIES]
        context = [v for k, v in (shown.modelinfo or {}).items() if k.endswith(".context_length")]
        self._details[digest] = {
            "capabilities": list(dict.fromkeys(["text", *caps])),
            "context_length": context[0] if context and isinstance(context[0], int) else None,
        }

    def _info(self, name: str, shown: dict[str, Any]) -> ModelInfo:
        """What the registry knows of a model, corrected by Ollama's ``/api/show``; what the
        config's ``[models."ollama/<name>"]`` table sets wins over both."""
        full = f"ollama/{display_name(name)}"
        info = replace(
            model_registry.get(full) or ModelInfo(full, "ollama"), backend=self.name, available=True
        )
        caps, context = shown.get("capabilities"), shown.get("context_length")
        if isinstance(caps, list) and all(isinstance(c, str) for c in caps):
            info.capabilities = list(caps)
        if isinstance(context, int) and context > 0:
            info.context_length = context
        table = self.config.models.get(full)
        return info if table is None else apply_table(info, table)

    async def status(self) -> BackendStatus:
        """Reachable if ``/api/version`` answers; otherwise the reason, with the URL."""
        try:
            self._check_transport()
            # the ollama client has no version call; its httpx client (and pool) is reused
            response = await self.client._client.get("/api/version")
            response.raise_for_status()
            version = response.json().get("version", "?")
        except Exception as exc:
            return BackendStatus(self.name, False, str(self._error(exc)))
        return BackendStatus(self.name, True, f"Ollama {version} at {self.host}")

    async def aclose(self) -> None:
        await self.client.close()


def _details_file() -> Path:
    from ttt.core.config import paths

    return paths().data_dir / "ollama-models.json"


def _load_details() -> dict[str, dict[str, Any]]:
    """Model details kept by an earlier run (a file of ours, still read with care)."""
    try:
        data = json.loads(_details_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _save_details(details: dict[str, dict[str, Any]]) -> None:
    """Write atomically; a read-only data dir only costs the next run its ``show`` calls."""
    path = _details_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(details), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass


async def _once(response: ollama.ChatResponse) -> AsyncIterator[ollama.ChatResponse]:
    """A whole response as a one-part stream, so both modes share the translation."""
    yield response
