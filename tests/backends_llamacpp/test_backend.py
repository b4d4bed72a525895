"""The llamacpp backend through the real `openai` client: attached to the OpenAI test server,
and managing a stand-in llama-server process (streaming, usage, crashes, status, models)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.backends_llamacpp.fakes import config_for, fake_model, fake_server
from tests.processes import wait_gone
from tests.providers import OpenAIServer, Reply
from ttt.core.backends import llama_probe
from ttt.core.backends.base import Backend
from ttt.core.backends.llamacpp import LlamaCppBackend, local_model_installed
from ttt.core.config import Config, LlamaCppConfig
from ttt.core.errors import AIError, BackendNotAvailableError, ModelNotFoundError, ProviderError
from ttt.core.types import ChatRequest, Finish, Message, StreamEvent, TextDelta, Usage


def request(text: str = "hello", model: str = "smollm2", **kwargs: object) -> ChatRequest:
    return ChatRequest(model, [Message.system("Be brief."), Message.user(text)], **kwargs)  # type: ignore[arg-type]


async def collect(backend: LlamaCppBackend, req: ChatRequest) -> tuple[list[StreamEvent], AIError | None]:
    """Every event, and the error that ended the stream (if any): partial text stays here."""
    events: list[StreamEvent] = []
    try:
        async for event in backend.astream(req):
            events.append(event)
    except AIError as exc:
        return events, exc
    return events, None


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.fixture
def llama_api() -> Iterator[OpenAIServer]:
    """An OpenAI-protocol server standing in for a llama-server the user runs."""
    with OpenAIServer(models=["smollm2"]) as server:
        yield server


@pytest.fixture
async def attached(llama_api: OpenAIServer) -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(Config(llamacpp=LlamaCppConfig(base_url=llama_api.url + "/v1")))
    yield backend
    await backend.aclose()


@pytest.fixture
async def managed(tmp_path: Path) -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(config_for(fake_server(tmp_path), fake_model(tmp_path)))
    yield backend
    await backend.aclose()


def test_factory_maps_the_name() -> None:
    backend = Backend.create("llamacpp", Config())
    assert isinstance(backend, LlamaCppBackend) and backend.name == "llamacpp"


async def test_attached_streams_text_usage_and_finish(
    attached: LlamaCppBackend, llama_api: OpenAIServer
) -> None:
    llama_api.script.push(Reply(text="one two three four", usage=(11, 4)))
    events, error = await collect(attached, request(temperature=0, max_tokens=20))
    assert error is None
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 4 and text_of(events) == "one two three four"
    assert [e for e in events if isinstance(e, Usage)] == [Usage(11, 4)]
    assert events[-1] == Finish("stop")
    body = llama_api.chat_requests[-1].body
    assert body["model"] == "smollm2" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0 and body["max_tokens"] == 20
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert attached.server.pid is None  # attach mode starts nothing


async def test_attached_drop_mid_stream_keeps_partial_text(
    attached: LlamaCppBackend, llama_api: OpenAIServer
) -> None:
    llama_api.script.push(Reply(text="one two three four five", disconnect_after=2))
    events, error = await collect(attached, request())
    assert text_of(events) == "one two "
    assert isinstance(error, ProviderError) and error.retryable
    assert "dropped mid-stream" in error.message and error.backend == "llamacpp"


async def test_attached_unreachable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = LlamaCppBackend(Config(llamacpp=LlamaCppConfig(base_url=f"http://127.0.0.1:{port}")))
    events, error = await collect(backend, request())
    assert events == [] and isinstance(error, BackendNotAvailableError)
    status = await backend.status()
    assert not status.available and "not answering" in status.detail
    await backend.aclose()


async def test_attached_models_and_status(attached: LlamaCppBackend, llama_api: OpenAIServer) -> None:
    models = await attached.models()
    assert [m.name for m in models] == ["llamacpp/smollm2"]
    assert models[0].provider == "llamacpp" and models[0].backend == "llamacpp" and models[0].available
    status = await attached.status()
    assert status.available and f"attached to {llama_api.url}" in status.detail


async def test_managed_starts_on_first_use_and_reuses(managed: LlamaCppBackend) -> None:
    status = await managed.status()
    assert status.available and "starts on first use" in status.detail and managed.server.pid is None
    response = await managed.ask(request("hi", model="llamacpp/tiny-model"))
    assert response.text == "Hello from fake llama"
    assert (response.input_tokens, response.output_tokens, response.finish_reason) == (7, 4, "stop")
    pid = managed.server.pid
    assert pid is not None
    second = await managed.ask(request("again", model="tiny-model"))
    assert second.text == response.text and managed.server.pid == pid
    status = await managed.status()
    assert f"(pid {pid})" in status.detail and "running at http://127.0.0.1:" in status.detail
    await managed.aclose()
    assert wait_gone(pid) and "starts on first use" in (await managed.status()).detail


async def test_managed_server_crash_mid_reply(managed: LlamaCppBackend) -> None:
    await managed.ask(request("hi", model="tiny-model"))
    crashed = managed.server.pid
    assert crashed is not None
    events, error = await collect(managed, request("please crash", model="tiny-model"))
    assert text_of(events) == "Hello from"
    assert isinstance(error, ProviderError) and "exited mid-reply (exit code 3)" in error.message
    assert str(managed.server.log_path) in error.message
    assert wait_gone(crashed) and not managed.server.running
    again = await managed.ask(request("hi", model="tiny-model"))  # a fresh server answers
    assert again.text == "Hello from fake llama" and managed.server.pid not in (None, crashed)


async def test_managed_rejects_other_model_names(managed: LlamaCppBackend) -> None:
    with pytest.raises(ModelNotFoundError, match="llamacpp serves one model, 'tiny-model'"):
        await managed.ask(request(model="llamacpp/llama3"))
    assert managed.server.pid is None


async def test_managed_models_and_availability(tmp_path: Path) -> None:
    backend = LlamaCppBackend(config_for(fake_server(tmp_path), fake_model(tmp_path)))
    assert backend.is_available
    [info] = await backend.models()
    assert info.name == "llamacpp/tiny-model" and info.context_length == 4096
    assert not info.available, "listed as available before it has answered on this machine"
    assert llama_probe.check(backend.config.llamacpp).ok
    [info] = await backend.models()
    assert info.available
    missing = LlamaCppBackend(config_for(fake_server(tmp_path), tmp_path / "gone.gguf"))
    assert not missing.is_available
    [info] = await missing.models()
    assert info.name == "llamacpp/gone" and info.available is False
    status = await missing.status()
    assert not status.available and "llamacpp.model_path" in status.detail


def test_local_model_installed(tmp_path: Path) -> None:
    assert local_model_installed(config_for(fake_server(tmp_path), fake_model(tmp_path)))
    assert not local_model_installed(config_for(tmp_path / "no-binary", fake_model(tmp_path)))
    assert not local_model_installed(config_for(fake_server(tmp_path), tmp_path / "no.gguf"))
    assert local_model_installed(Config(llamacpp=LlamaCppConfig(base_url="http://127.0.0.1:1")))
