"""The llama.cpp backend: a managed (or attached) ``llama-server`` spoken to over OpenAI's protocol.

It is what makes ttt work offline out of the box: with the bundled SmolLM2 GGUF and the embedded
llama.cpp runtime (xllamacpp) installed, ``llamacpp/smollm2`` answers with no key, no Ollama and no
network. The
wire format is OpenAI's, so requests and chunks go through the same translator as the cloud
backend and errors through the same mapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ttt.core.backends import llama_probe
from ttt.core.backends.base import BackendStatus, BaseBackend
from ttt.core.backends.error_map import map_error
from ttt.core.backends.http import tls_verify
from ttt.core.backends.llama_server import (
    LlamaServer,
    find_model,
    find_runtime,
    installation_problem,
    model_name,
)
from ttt.core.backends.openai_stream import ChunkTranslator, to_openai_messages, to_openai_tools
from ttt.core.config import Config
from ttt.core.errors import AIError, ModelNotFoundError, ProviderError
from ttt.core.models import ModelInfo
from ttt.core.types import ChatRequest, StreamEvent

if TYPE_CHECKING:
    from openai import AsyncOpenAI

PREFIX = "llamacpp/"


def local_model_installed(config: Config | None = None) -> bool:
    """Whether a llama.cpp model can answer without any network: the router's offline fallback.

    True when a llama-server to attach to is configured, or a runtime and a GGUF are installed
    and have not been found unable to run here. Cheap: nothing is started or contacted."""
    settings = (config or Config()).llamacpp
    if settings.base_url:
        return True
    verdict = llama_probe.remembered(settings)
    return installation_problem(settings) is None and (verdict is None or verdict.ok)


class LlamaCppBackend(BaseBackend):
    """``llamacpp/<name>``: one GGUF served by a llama-server started on first use."""

    name = "llamacpp"

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.server = LlamaServer(config.llamacpp)
        self._client: AsyncOpenAI | None = None
        self._client_url = ""
        self._answered = False  # a reply has come from our own server in this process

    @property
    def model(self) -> str:
        """The served model's short name (``smollm2``, or the configured GGUF's stem)."""
        return model_name(self.config.llamacpp)

    @property
    def is_available(self) -> bool:
        """A server to attach to is configured, or a runtime and the model exist (and were not
        found unable to run here)."""
        return local_model_installed(self.config)

    async def _connect(self) -> AsyncOpenAI:
        """The shared client for the running server (starting it first if need be)."""
        url = await self.server.ensure_started()
        if self._client is None or self._client_url != url:  # first use, or restarted elsewhere
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient, Timeout

            if self._client is not None:
                await self._client.close()
            # plain http (our own server) loads no CA certificates, yet never skips verification
            bundle = self.config.connection(self.name).ca_bundle
            client = DefaultAsyncHttpxClient(
                verify=tls_verify(url, bundle, f"backends.{self.name}.ca_bundle")
            )
            timeout = Timeout(self.config.timeout, connect=self.config.connect_timeout)
            self._client = AsyncOpenAI(
                base_url=f"{url}/v1",
                api_key=self.server.api_key,
                max_retries=0,
                timeout=timeout,
                http_client=client,
            )
            self._client_url = url
        return self._client

    def _check_model(self, model: str) -> str:
        """The name to send; a managed server serves exactly one model, so others are an error."""
        name = model.removeprefix(PREFIX)
        if name and name != self.model and not self.server.attached:
            raise ModelNotFoundError(
                f"llamacpp serves one model, '{self.model}' (llamacpp/{self.model}): set "
                "llamacpp.model_path to another GGUF file to serve that instead.",
                backend=self.name,
                model=model,
            )
        return name or self.model

    def _params(self, request: ChatRequest, model: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if request.tools:
            params["tools"] = to_openai_tools(request.tools)
        if request.options:
            params["extra_body"] = dict(request.options)  # llama-server's own sampling options
        return params

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one request; a server dying mid-reply raises ProviderError after the text so far."""
        model = self._check_model(request.model)
        try:
            client = await self._connect()
        except AIError as error:
            if self.server.startup_exit is not None:  # it crashed starting: not usable here
                llama_probe.remember(self.config.llamacpp, llama_probe.Verdict(False, error.message))
            raise
        translator = ChunkTranslator()
        try:
            stream = await client.chat.completions.create(**self._params(request, model))
            async with stream:
                async for chunk in stream:
                    for event in translator.feed(chunk):
                        yield event
        except Exception as exc:
            mapped = map_error(exc, backend=self.name, model=request.model, base_url=self._client_url)
            raise await self._explain_crash(mapped) from exc
        for event in translator.close():
            yield event
        if self.server.attached or self._answered:
            return
        self._answered = True  # the verdict file is read once per backend, not once per reply
        if llama_probe.remembered(self.config.llamacpp) is None:
            runtime = find_runtime(self.config.llamacpp)
            detail = f"answered ({runtime.label if runtime else 'llama-server'})"
            llama_probe.remember(self.config.llamacpp, llama_probe.Verdict(True, detail))

    async def _explain_crash(self, error: AIError) -> AIError:
        """A dropped stream from our own server most likely means it died: say so, and where its
        log is (the next request starts a fresh one)."""
        if self.server.attached or not isinstance(error, ProviderError):
            return error
        code = await asyncio.to_thread(self.server.exit_code, 0.5)
        if code is None:
            return error
        return ProviderError(
            f"llama-server exited mid-reply (exit code {code}); see {self.server.log_path}. "
            "Try again to restart it.",
            backend=self.name,
            model=error.model,
        )

    async def models(self) -> list[ModelInfo]:
        """The one model served (available once it has answered on this machine); in attach mode,
        whatever the server reports. Listing never starts a server."""
        if self.server.attached and not self.config.llamacpp.model_path:
            served = await self._served_models()
            if served:
                return [self._info(name, True) for name in served]
        if self.server.attached:
            return [self._info(self.model, True)]
        verdict = llama_probe.remembered(self.config.llamacpp)  # `ttt models` checks first
        return [self._info(self.model, verdict is not None and verdict.ok)]

    def _info(self, name: str, available: bool) -> ModelInfo:
        return ModelInfo(
            name=PREFIX + name,
            provider=self.name,
            context_length=self.config.llamacpp.ctx_size,
            backend=self.name,
            available=available,
        )

    async def _served_models(self) -> list[str]:
        """Model names an attached server lists (llama-server names them by GGUF path)."""
        try:
            async with httpx.AsyncClient(timeout=self.config.connect_timeout) as http:
                headers = {"Authorization": f"Bearer {self.server.api_key}"}
                response = await http.get(f"{self.server.base_url}/v1/models", headers=headers)
                response.raise_for_status()
                data = response.json().get("data") or []
        except (httpx.HTTPError, ValueError, AttributeError):
            return []
        ids = [str(item.get("id", "")) for item in data if isinstance(item, dict)]
        return [Path(i).name.removesuffix(".gguf") for i in ids if i]

    async def status(self) -> BackendStatus:
        """Usable here or not (and why), running or not. The first call on a machine starts the
        server once to ask for one token (``llama_probe.check``); later calls read its verdict."""
        settings = self.config.llamacpp
        if self.server.attached:
            answering = bool(await self._served_models())
            state = "answering" if answering else "not answering"
            return BackendStatus(self.name, answering, f"attached to {self.server.base_url} ({state})")
        verdict = await asyncio.to_thread(llama_probe.check, settings)
        if not verdict.ok:
            return BackendStatus(self.name, False, verdict.detail)
        running = (
            f"running at {self.server.base_url} (pid {self.server.pid})"
            if self.server.running
            else "starts on first use"
        )
        detail = f"{self.model} {verdict.detail}; {find_model(settings)}; {running}"
        return BackendStatus(self.name, True, detail)

    async def aclose(self) -> None:
        """Close the client and stop the server if we started it."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        await asyncio.to_thread(self.server.stop)
