"""The optional response cache: identical temperature-0 requests are answered from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core import api
from ttt.core.types import RouteInfo

MODEL = "ollama/llama3.2"


@pytest.fixture
def cache_on() -> None:
    Path("ttt.toml").write_text("[sessions]\ncache = true\n")


async def events(prompt: str, **kwargs: object) -> list[object]:
    return [e async for e in api.events_async(prompt, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.usefixtures("cache_on")
async def test_a_repeated_request_is_answered_from_the_store(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Paris, of course.", usage=(9, 4)))
    first = await api.ask_async("capital of France?", model=MODEL, temperature=0)
    again = await events("capital of France?", model=MODEL, temperature=0)
    assert len(ollama.chat_requests) == 1, "the second request never reached the server"
    route, *_, done = again
    assert isinstance(route, RouteInfo) and (route.model, route.reason) == (MODEL, "cached")
    response = done.response  # type: ignore[attr-defined]
    assert (first.cached, response.cached) == (False, True)
    assert (response.text, response.model, response.output_tokens, response.cost) == (
        "Paris, of course.",
        MODEL,
        4,
        0.0,
    )


@pytest.mark.usefixtures("cache_on")
@pytest.mark.parametrize(
    "second",
    [
        {"temperature": 0, "system": "be brief"},  # other messages
        {"temperature": 0, "model": "ollama/qwen3:8b"},  # another model
        {"temperature": 0, "max_tokens": 5},  # other parameters
        {"temperature": 0.7},  # not deterministic: never looked up
    ],
)
async def test_only_identical_temperature_zero_requests_hit(ollama: OllamaServer, second: dict) -> None:
    await api.ask_async("hi", model=MODEL, temperature=0)
    response = await api.ask_async("hi", **{"model": MODEL, **second})
    assert not response.cached and len(ollama.chat_requests) == 2


async def test_off_by_default(ollama: OllamaServer) -> None:
    for _ in range(2):
        assert not (await api.ask_async("hi", model=MODEL, temperature=0)).cached
    assert len(ollama.chat_requests) == 2


@pytest.mark.usefixtures("cache_on")
async def test_answers_that_called_tools_are_not_kept(ollama: OllamaServer) -> None:
    for _ in range(2):
        ollama.script.push(Reply(tool_calls=[("calculate", {"expression": "2+2"})]), Reply(text="4"))
        response = await api.ask_async(
            "2+2?", model=MODEL, temperature=0, tools=["calculate"], approve=lambda c, t: "yes"
        )
        assert response.text == "4" and not response.cached
    assert len(ollama.chat_requests) == 4


@pytest.mark.usefixtures("cache_on")
def test_json_says_cached_and_the_session_keeps_the_reply(openai: OpenAIServer) -> None:
    args = ("-p", "hi", "-m", "openai/gpt-4o-mini", "-t", "0", "--json")
    first, second = (json.loads(ttt(*args).stdout) for _ in range(2))
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["text"] == first["text"] and len(openai.chat_requests) == 1
    shown = ttt("sessions", "show", second["session_id"]).stdout
    assert first["text"] in shown
