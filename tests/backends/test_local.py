"""LocalBackend through the real ollama client against the local Ollama server."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.backends.conftest import PNG, WEATHER, ask, collect, kinds, tool_round_trip
from tests.providers import OllamaServer, Reply
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, apply
from ttt.core.types import (
    ChatRequest,
    Finish,
    ImagePart,
    Message,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallReady,
    ToolCallStart,
    Usage,
)


async def test_streams_text_usage_and_finish(local: LocalBackend, ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Hello brave world", usage=(12, 3)))
    events = await collect(local, ask("llama3.2"))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello ", "brave ", "world"]
    assert events[-2:] == [Usage(12, 3, cost=0.0), Finish("stop")]


async def test_ask_streaming_and_not(local: LocalBackend, ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="streamed reply", usage=(5, 2)), Reply(text="whole reply", usage=(6, 2)))
    streamed = await local.ask(ask("llama3.2"))
    whole = await local.ask(ask("llama3.2", stream=False))
    assert (streamed.text, streamed.backend, streamed.input_tokens, streamed.output_tokens) == (
        "streamed reply",
        "local",
        5,
        2,
    )
    assert (whole.text, whole.input_tokens, whole.finish_reason) == ("whole reply", 6, "stop")
    assert [r.body["stream"] for r in ollama.chat_requests] == [True, False]


async def test_thinking(local: LocalBackend, ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="42", thinking="let me think"))
    events = await collect(local, ChatRequest("qwen3:8b", [Message.user("q")], options={"think": True}))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "let me think"
    assert kinds(events)[:3] == ["thinking", "thinking", "thinking"]
    assert ollama.chat_requests[-1].body["think"] is True
    response = await local.ask(ChatRequest("qwen3:8b", [Message.user("q")], stream=False))
    assert response.text.startswith("You said")


async def test_parallel_tool_calls(local: LocalBackend, ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})])
    )
    events = await collect(local, ChatRequest("llama3.2", [Message.user("q")], tools=[WEATHER]))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_weather")]
    assert [json.loads(d.arguments) for d in deltas] == [{"city": "Paris"}, {"city": "Rome"}]
    assert [(c.id, c.arguments) for c in ready] == [
        (starts[0].id, {"city": "Paris"}),
        (starts[1].id, {"city": "Rome"}),
    ]
    assert len({s.id for s in starts}) == 2
    assert events[-1] == Finish("tool_calls")
    sent = ollama.chat_requests[-1].body["tools"]
    assert sent == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER.parameters,
            },
        }
    ]


async def test_tool_result_round_trip_shape(local: LocalBackend, ollama: OllamaServer) -> None:
    await local.ask(ChatRequest("llama3.2", tool_round_trip(), tools=[WEATHER]))
    messages = ollama.chat_requests[-1].body["messages"]
    assert messages[0] == {"role": "system", "content": "be brief"}
    assert messages[1] == {"role": "user", "content": "weather in Paris?"}
    assert messages[2]["role"] == "assistant" and messages[2]["content"] == "checking"
    assert [c["function"] for c in messages[2]["tool_calls"]] == [
        {"name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert messages[3] == {"role": "tool", "content": "sunny, 21C", "tool_name": "get_weather"}


async def test_options_temperature_and_max_tokens(local: LocalBackend, ollama: OllamaServer) -> None:
    request = ChatRequest(
        "llama3.2", [Message.user("q")], temperature=0.2, max_tokens=64, options={"num_ctx": 2048}
    )
    await local.ask(request)
    assert ollama.chat_requests[-1].body["options"] == {
        "num_ctx": 2048,
        "temperature": 0.2,
        "num_predict": 64,
    }


async def test_images_sent_base64(local: LocalBackend, ollama: OllamaServer, tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(base64.b64decode(PNG))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()  # a file is read only against its hash
    images = [ImagePart("image/png", data=PNG), ImagePart("image/png", path=str(path), sha256=digest)]
    await local.ask(ChatRequest("llama3.2", [Message.user("what is this?", images)]))
    sent = ollama.chat_requests[-1].body["messages"][0]
    assert sent == {"role": "user", "content": "what is this?", "images": [PNG, PNG]}


async def test_models_list_with_details(local: LocalBackend, ollama: OllamaServer) -> None:
    models = {m.name: m for m in await local.models()}
    assert set(models) == {"ollama/llama3.2", "ollama/qwen3:8b"}
    llama, qwen = models["ollama/llama3.2"], models["ollama/qwen3:8b"]
    assert (llama.provider, llama.backend, llama.available, llama.context_length) == (
        "ollama",
        "local",
        True,
        131072,
    )
    assert "tools" in llama.capabilities and "reasoning" in qwen.capabilities
    shows = len([r for r in ollama.requests if r.path == "/api/show"])
    await local.models()  # details are cached per digest: listing again does not `show` again
    assert len([r for r in ollama.requests if r.path == "/api/show"]) == shows


async def test_models_carry_what_the_registry_and_config_know(config: Config, ollama: OllamaServer) -> None:
    tables = {
        "ollama/qwen3:8b": {"capabilities": ["text", "code"], "context_length": 4096},  # over Ollama's
        "ollama/llama3.2": {"input_price": 0.0, "output_price": 0.0},
    }
    backend = LocalBackend(apply(config, {"models": tables}))
    try:
        models = {m.name: m for m in await backend.models()}
    finally:
        await backend.aclose()
    qwen, llama = models["ollama/qwen3:8b"], models["ollama/llama3.2"]
    assert (qwen.capabilities, qwen.context_length) == (["text", "code"], 4096)
    assert (llama.input_price, llama.context_length) == (0.0, 131072)
    assert "tools" in llama.capabilities  # Ollama's word where the config says nothing


async def test_has_model_is_cached(local: LocalBackend, ollama: OllamaServer) -> None:
    assert await local.has_model("llama3.2")
    assert await local.has_model("ollama/llama3.2:latest")
    assert not await local.has_model("mistral")
    assert len([r for r in ollama.requests if r.path == "/api/tags"]) == 1


async def test_status(local: LocalBackend, ollama: OllamaServer) -> None:
    status = await local.status()
    assert status.available and status.name == "local"
    assert "0.12.6" in status.detail and ollama.url in status.detail


async def test_status_when_ollama_is_down(closed_url: str) -> None:
    config = Config()
    config.ollama.host = closed_url
    down = LocalBackend(config)
    status = await down.status()
    assert not status.available
    assert f"not running at {closed_url}" in status.detail and "ollama serve" in status.detail
    assert not await down.has_model("llama3.2")
    await down.aclose()


def test_host_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://10.1.2.3:1234")
    assert LocalBackend(Config()).host == "http://10.1.2.3:1234"
    config = Config()
    config.ollama.host = "http://127.0.0.1:5555"
    assert LocalBackend(config).host == "http://127.0.0.1:5555"
    monkeypatch.delenv("OLLAMA_HOST")
    assert LocalBackend(Config()).host == "http://localhost:11434"


async def test_client_reused_across_requests(local: LocalBackend, ollama: OllamaServer) -> None:
    client = local.client
    await local.ask(ask("llama3.2"))
    await local.ask(ask("llama3.2"))
    assert local.client is client and len(ollama.chat_requests) == 2
