"""The engine end to end over the local provider servers: events, retries, fallbacks, errors."""

from __future__ import annotations

import time

import pytest

from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.config import Config, apply
from ttt.core.engine import Engine, TurnOptions
from ttt.core.errors import AIError, ModelNotFoundError, ProviderError, RateLimitError
from ttt.core.types import Done, ErrorEvent, Message, RouteInfo, TextDelta, Usage


async def run(engine: Engine, prompt: str, model: str) -> list:
    events = [event async for event in engine.run([Message.user(prompt)], TurnOptions(model=model))]
    await engine.aclose()
    return events


def engine_with(**settings: object) -> Engine:
    return Engine(apply(Config(), settings))


async def test_a_turn_streams_route_deltas_usage_and_done(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Python is a programming language."))
    events = await run(engine_with(), "What is Python?", "ollama/llama3.2")
    assert isinstance(events[0], RouteInfo)
    assert (events[0].model, events[0].backend) == ("ollama/llama3.2", "local")
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3, "the reply must arrive in pieces, not buffered"
    assert "".join(deltas) == "Python is a programming language."
    assert any(isinstance(e, Usage) and e.output_tokens > 0 for e in events)
    done = events[-1]
    assert isinstance(done, Done)
    response = done.response
    assert str(response) == "Python is a programming language."
    assert (response.model, response.backend, response.finish_reason) == ("ollama/llama3.2", "local", "stop")
    assert response.input_tokens > 0 and response.output_tokens > 0
    assert response.seconds > 0 and response.time_to_first_token is not None
    sent = ollama.chat_requests[-1].body
    assert sent["model"] == "llama3.2"
    assert sent["messages"][-1] == {"role": "user", "content": "What is Python?"} | {
        k: v for k, v in sent["messages"][-1].items() if k not in ("role", "content")
    }


async def test_rate_limit_is_retried_after_retry_after(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(status=429, error_message="slow down", headers={"Retry-After": "0.3"}), Reply(text="ok")
    )
    started = time.perf_counter()
    events = await run(engine_with(retries=2), "hi", "ollama/llama3.2")
    assert isinstance(events[-1], Done) and str(events[-1].response) == "ok"
    assert len(ollama.chat_requests) == 2
    assert time.perf_counter() - started >= 0.3


async def test_retries_are_bounded(ollama: OllamaServer) -> None:
    ollama.script.push(*[Reply(status=500, error_message="boom")] * 5)
    events = await run(engine_with(retries=1), "hi", "ollama/llama3.2")
    assert isinstance(events[-1], ErrorEvent)
    assert isinstance(events[-1].error, ProviderError)
    assert len(ollama.chat_requests) == 2


async def test_fallback_chain_takes_over_when_the_first_model_fails(
    ollama: OllamaServer, openai: OpenAIServer
) -> None:
    ollama.script.push(Reply(status=429, error_message="busy"), Reply(status=429, error_message="busy"))
    openai.script.push(Reply(text="from the fallback"))
    engine = engine_with(retries=1, fallbacks=["openai/gpt-4o-mini"])
    events = await run(engine, "hi", "ollama/llama3.2")
    routes = [e for e in events if isinstance(e, RouteInfo)]
    assert [r.model for r in routes] == ["ollama/llama3.2", "openai/gpt-4o-mini"]
    assert "fallback" in routes[1].reason and "rate" in routes[1].reason.lower()
    response = events[-1].response
    assert (str(response), response.model, response.backend) == (
        "from the fallback",
        "openai/gpt-4o-mini",
        "cloud",
    )


async def test_errors_that_retrying_cannot_fix_are_reported_at_once(ollama: OllamaServer) -> None:
    events = await run(engine_with(retries=3), "hi", "ollama/no-such-model")
    assert isinstance(events[-1], ErrorEvent)
    assert isinstance(events[-1].error, ModelNotFoundError)
    assert len(ollama.chat_requests) == 1


async def test_a_stream_dropped_midway_keeps_its_text_and_is_not_replayed(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="one two three four five six", disconnect_after=3))
    events = await run(engine_with(retries=2), "hi", "ollama/llama3.2")
    partial = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert partial == "one two three "
    error = events[-1]
    assert isinstance(error, ErrorEvent) and isinstance(error.error, ProviderError)
    assert len(ollama.chat_requests) == 1, "output already shown must not be streamed twice"


async def test_rate_limit_error_carries_retry_after(ollama: OllamaServer) -> None:
    ollama.script.push(*[Reply(status=429, error_message="busy", headers={"Retry-After": "0"})] * 3)
    events = await run(engine_with(retries=0), "hi", "ollama/llama3.2")
    error = events[-1].error
    assert isinstance(error, RateLimitError) and isinstance(error, AIError)
    assert error.backend == "local" and error.model == "ollama/llama3.2"


@pytest.mark.parametrize("model", ["ollama/llama3.2", "openai/gpt-4o-mini"])
async def test_temperature_and_max_tokens_reach_the_provider(
    model: str, ollama: OllamaServer, openai: OpenAIServer
) -> None:
    engine = engine_with()
    turn = TurnOptions(model=model, temperature=0.25, max_tokens=42)
    events = [e async for e in engine.run([Message.system("be brief"), Message.user("hi")], turn)]
    await engine.aclose()
    assert isinstance(events[-1], Done)
    server = ollama if model.startswith("ollama") else openai
    body = server.chat_requests[-1].body
    if model.startswith("ollama"):
        assert body["options"]["temperature"] == 0.25 and body["options"]["num_predict"] == 42
    else:
        assert body["temperature"] == 0.25 and body.get("max_tokens", body.get("max_completion_tokens")) == 42
    assert body["messages"][0]["role"] == "system" and body["messages"][0]["content"] == "be brief"
