"""The llamacpp backend against the real llama-server and SmolLM2: shape, streaming, usage,
determinism and limits; never exact wording."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.processes import wait_gone
from tests.real_llm.conftest import RealLlama
from ttt.core.backends.llamacpp import LlamaCppBackend
from ttt.core.config import Config
from ttt.core.types import ChatRequest, Finish, Message, StreamEvent, TextDelta, Usage

QUESTION = "Name three colours of the rainbow."


def request(text: str = QUESTION, max_tokens: int = 24) -> ChatRequest:
    return ChatRequest("llamacpp/smollm2", [Message.user(text)], temperature=0.0, max_tokens=max_tokens)


@pytest.fixture
async def backend(real_llama: RealLlama) -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(real_llama.config)
    yield backend
    await backend.aclose()


async def events_of(backend: LlamaCppBackend, req: ChatRequest) -> list[StreamEvent]:
    return [event async for event in backend.astream(req)]


async def test_streams_text_in_pieces_with_usage(backend: LlamaCppBackend) -> None:
    events = await events_of(backend, request())
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 3, "expected a stream of deltas, not one block"
    assert "".join(d.text for d in deltas).strip()
    [usage] = [e for e in events if isinstance(e, Usage)]
    assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 24
    assert isinstance(events[-1], Finish) and events[-1].reason in ("stop", "length")


async def test_deterministic_at_temperature_zero(backend: LlamaCppBackend) -> None:
    """The first ask fills llama-server's prompt cache, and a reply computed from a cached prompt
    may differ in the last bits from one computed afresh; the two after it start alike."""
    await backend.ask(request())
    second = await backend.ask(request())
    third = await backend.ask(request())
    assert second.text and second.text == third.text
    assert second.output_tokens == third.output_tokens


async def test_max_tokens_is_respected(backend: LlamaCppBackend) -> None:
    response = await backend.ask(
        request("Write a long story about a dragon who learns to cook.", max_tokens=8)
    )
    assert response.finish_reason == "length"
    assert response.output_tokens == 8
    assert response.text


async def test_models_and_status(backend: LlamaCppBackend, real_llama: RealLlama) -> None:
    [info] = await backend.models()
    assert info.available and info.backend == "llamacpp"
    status = await backend.status()
    assert status.available and real_llama.base_url in status.detail


async def test_managed_server_starts_answers_and_stops(real_llama: RealLlama) -> None:
    backend = LlamaCppBackend(Config(llamacpp=real_llama.settings))
    assert backend.server.pid is None
    response = await backend.ask(request("Say hello.", max_tokens=12))
    pid = backend.server.pid
    assert response.text and pid is not None and backend.server.running
    await backend.aclose()
    assert wait_gone(pid), "llama-server still running after aclose()"
    assert backend.server.pid is None
