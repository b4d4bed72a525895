"""The library API as a script author uses it: ask, stream, chat, sync and async."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

import ttt
from tests.conftest import REPO
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.errors import APIKeyError, ModelNotFoundError


def test_ask_returns_a_response_with_metadata(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Hello there.", usage=(12, 3)))
    response = ttt.ask("hi", model="ollama/llama3.2")
    assert str(response) == "Hello there."
    assert (response.model, response.backend) == ("ollama/llama3.2", "local")
    assert (response.input_tokens, response.output_tokens, response.tokens) == (12, 3, 15)
    assert response.finish_reason == "stop" and response.seconds > 0 and response.tool_calls == []


def test_ask_computes_cost_from_registry_prices(openai: OpenAIServer) -> None:
    openai.script.push(Reply(text="x", usage=(1_000_000, 1_000_000)))
    response = ttt.ask("hi", model="openai/gpt-4o-mini")
    assert response.cost == pytest.approx(0.15 + 0.6)


def test_stream_yields_chunks_then_exposes_the_response(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="one two three"))
    result = ttt.stream("count", model="ollama/llama3.2")
    chunks = list(result)
    assert chunks == ["one ", "two ", "three"]
    assert result.response is not None and str(result.response) == "one two three"


def test_errors_raise_ai_errors(ollama: OllamaServer) -> None:
    with pytest.raises(ModelNotFoundError, match="ollama pull"):
        ttt.ask("hi", model="ollama/missing")


def test_missing_key_says_which_variable_to_set() -> None:
    with pytest.raises(APIKeyError, match="OPENAI_API_KEY"):
        ttt.ask("hi", model="openai/gpt-4o-mini")


def test_sync_api_works_inside_a_running_event_loop(ollama: OllamaServer) -> None:
    async def notebook_cell() -> str:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        text = str(ttt.ask("hi", model="ollama/llama3.2"))
        task.cancel()
        assert ticks > 0
        return text

    assert asyncio.run(notebook_cell()) == "You said: hi"


async def test_async_api(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="async answer"))
    assert str(await ttt.ask_async("hi", model="ollama/llama3.2")) == "async answer"
    ollama.script.push(Reply(text="a b"))
    result = ttt.stream_async("hi", model="ollama/llama3.2")
    assert [c async for c in result] == ["a ", "b"]
    assert result.response is not None and result.response.backend == "local"


def test_chat_remembers_the_conversation(ollama: OllamaServer) -> None:
    with ttt.chat(model="ollama/llama3.2", system="be brief") as session:
        assert str(session.ask("my name is Ada")) == "You said: my name is Ada"
        session.ask("what is my name?")
    sent = ollama.chat_requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "my name is Ada" and sent[2]["content"] == "You said: my name is Ada"


async def test_achat(ollama: OllamaServer) -> None:
    async with ttt.achat(model="ollama/llama3.2") as session:
        await session.ask_async("one")
        response = await session.ask_async("two")
    assert str(response) == "You said: two"
    assert len(session.messages) == 4


def test_configure_applies_to_the_next_request(ollama: OllamaServer) -> None:
    ttt.configure(model="ollama/qwen3:8b", temperature=0.1)
    response = ttt.ask("hi")
    assert response.model == "ollama/qwen3:8b"
    assert ollama.chat_requests[-1].body["options"]["temperature"] == 0.1


def test_same_names_from_ttt_and_ttt_core() -> None:
    import ttt.core

    for name in ("ask", "stream", "chat", "ask_async", "stream_async", "achat"):
        assert getattr(ttt, name) is getattr(ttt.core, name)


def test_import_ttt_core_never_loads_textual_or_litellm() -> None:
    code = (
        "import sys, ttt, ttt.core; from ttt import ask, stream, chat; "
        "from ttt.core import engine, routing, config; "
        "assert 'textual' not in sys.modules and 'litellm' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
