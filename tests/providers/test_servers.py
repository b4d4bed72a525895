"""The local provider servers, exercised through the real ollama, openai and LiteLLM clients."""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Iterator
from types import ModuleType

import httpx
import ollama
import openai
import pytest

from tests.providers import OllamaModel, OllamaServer, OpenAIServer, Reply

USER = [{"role": "user", "content": "hi there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    with OllamaServer() as server:
        yield server


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(models=["gpt-4o-mini", "meta-llama/Llama-3.1-8B-Instruct"]) as server:
        yield server


@pytest.fixture
def oclient(ollama_server: OllamaServer) -> ollama.Client:
    return ollama.Client(host=ollama_server.url)


@pytest.fixture
def client(openai_server: OpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=openai_server.url + "/v1", api_key="k", max_retries=0)


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    module = importlib.import_module("litellm")
    module.suppress_debug_info = True
    return module


# --- Ollama ---------------------------------------------------------------------------------


def test_ollama_root_version_list_show(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    assert httpx.get(ollama_server.url).text == "Ollama is running"
    assert httpx.head(ollama_server.url).status_code == 200
    assert httpx.get(ollama_server.url + "/api/version").json()["version"]
    names = [m.model for m in oclient.list().models]
    assert names == ["llama3.2:latest", "qwen3:8b"]
    assert oclient.list().models[0].details.parameter_size == "3.2B"
    shown = oclient.show("llama3.2")
    assert shown.capabilities == ["completion", "tools"]
    assert shown.modelinfo["llama.context_length"] == 131072
    assert oclient.show("qwen3:8b").details.family == "qwen3"
    with pytest.raises(ollama.ResponseError) as err:
        oclient.show("nope")
    assert err.value.status_code == 404
    assert err.value.error == "model 'nope' not found"


def test_ollama_custom_models() -> None:
    model = OllamaModel("llava:7b", context_length=4096, capabilities=("completion", "vision"))
    with OllamaServer(models=["mistral", model]) as server:
        client = ollama.Client(host=server.url)
        assert [m.model for m in client.list().models] == ["mistral:latest", "llava:7b"]
        assert client.show("llava:7b").modelinfo["llava.context_length"] == 4096
        assert client.show("mistral:latest").capabilities == ["completion", "tools"]


def test_ollama_streams_text_and_usage(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    ollama_server.script.push(Reply(text="Hello brave new world", usage=(12, 4)))
    parts = list(oclient.chat(model="llama3.2", messages=USER, stream=True, options={"temperature": 0.2}))
    assert [p.message.content for p in parts[:-1]] == ["Hello ", "brave ", "new ", "world"]
    final = parts[-1]
    assert final.done and final.done_reason == "stop"
    assert (final.prompt_eval_count, final.eval_count) == (12, 4)
    assert final.eval_duration > 0 and final.total_duration >= final.eval_duration
    body = ollama_server.chat_requests[-1].body
    assert body["options"]["temperature"] == 0.2 and body["messages"] == USER


def test_ollama_echo_non_stream_and_default_usage(
    ollama_server: OllamaServer, oclient: ollama.Client
) -> None:
    response = oclient.chat(model="llama3.2", messages=USER)
    assert response.message.content == "You said: hi there"
    assert response.done and response.eval_count == 4 and response.prompt_eval_count > 0


def test_ollama_tool_calls(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    ollama_server.script.push(
        Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})])
    )
    parts = list(oclient.chat(model="llama3.2", messages=USER, tools=[WEATHER_TOOL], stream=True))
    calls = [c for p in parts for c in (p.message.tool_calls or [])]
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Oslo"}),
    ]
    assert parts[-1].done_reason == "stop"
    assert ollama_server.chat_requests[-1].body["tools"][0]["function"]["name"] == "get_weather"


def test_ollama_thinking_and_images(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    ollama_server.script.push(Reply(thinking="Let me think.", text="42"))
    messages = [{"role": "user", "content": "what?", "images": [b"\x89PNG fake"]}]
    parts = list(oclient.chat(model="qwen3:8b", messages=messages, think=True, stream=True))
    assert "".join(p.message.thinking or "" for p in parts) == "Let me think."
    assert "".join(p.message.content or "" for p in parts) == "42"
    body = ollama_server.chat_requests[-1].body
    assert body["think"] is True and body["messages"][0]["images"]


def test_ollama_errors(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        oclient.chat(model="ghost", messages=USER)
    assert err.value.status_code == 404 and "not found" in err.value.error
    ollama_server.script.push(Reply(status=500, error_message="llama runner process has terminated"))
    with pytest.raises(ollama.ResponseError) as err:
        list(oclient.chat(model="llama3.2", messages=USER, stream=True))
    assert (err.value.status_code, err.value.error) == (500, "llama runner process has terminated")
    assert len(ollama_server.script) == 0


def test_ollama_load_with_no_messages(oclient: ollama.Client) -> None:
    assert oclient.chat(model="llama3.2", messages=[]).done_reason == "load"


def test_ollama_disconnect_and_malformed(ollama_server: OllamaServer, oclient: ollama.Client) -> None:
    ollama_server.script.push(Reply(text="one two three four", disconnect_after=2))
    seen: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for part in oclient.chat(model="llama3.2", messages=USER, stream=True):
            seen.append(part.message.content)
    assert seen == ["one ", "two "]
    ollama_server.script.push(Reply(text="one two three", malformed_after=1))
    with pytest.raises(json.JSONDecodeError):
        list(oclient.chat(model="llama3.2", messages=USER, stream=True))


# --- OpenAI ---------------------------------------------------------------------------------


def test_openai_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini", "meta-llama/Llama-3.1-8B-Instruct"]
    assert client.models.retrieve("meta-llama/Llama-3.1-8B-Instruct").owned_by == "meta-llama"


def test_openai_streams_text_and_usage(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.script.push(Reply(text="Hello brave new world"))
    stream = client.chat.completions.create(
        model="meta-llama/Llama-3.1-8B-Instruct",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
        temperature=0.3,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello brave new world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    request = openai_server.chat_requests[-1]
    assert request.headers["authorization"] == "Bearer k"
    assert request.body["temperature"] == 0.3


def test_openai_stream_without_usage_and_reasoning(
    openai_server: OpenAIServer, client: openai.OpenAI
) -> None:
    openai_server.script.push(Reply(thinking="Hmm, let me see.", chunks=["4", "2"]))
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks)
    assert reasoning == "Hmm, let me see."
    assert [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content] == ["4", "2"]


def test_openai_streamed_tool_calls_are_split(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    calls = [("get_weather", {"city": "Paris", "unit": "celsius"}), ("get_time", {"zone": "Europe/Oslo"})]
    openai_server.script.push(Reply(text="Checking.", tool_calls=calls))
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=[WEATHER_TOOL], stream=True
    )
    assembled: dict[int, dict[str, str]] = {}
    pieces: dict[int, int] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            slot = assembled.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] += delta.id or ""
            slot["name"] += delta.function.name or ""
            slot["arguments"] += delta.function.arguments or ""
            pieces[delta.index] = pieces.get(delta.index, 0) + 1
    assert finish == "tool_calls"
    assert [(a["name"], json.loads(a["arguments"])) for a in assembled.values()] == calls
    assert all(a["id"].startswith("call_") for a in assembled.values())
    assert min(pieces.values()) > 3
    assert openai_server.chat_requests[-1].body["tools"] == [WEATHER_TOOL]


def test_openai_non_stream(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert response.choices[0].message.content == "You said: hi there"
    assert response.usage.completion_tokens == 4 and response.usage.total_tokens > 4
    openai_server.script.push(Reply(tool_calls=[("get_weather", {"city": "Paris"})]))
    response = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    call = response.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert response.choices[0].finish_reason == "tool_calls"


def test_openai_content_parts_echo(client: openai.OpenAI) -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ]
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )
    assert response.choices[0].message.content == "You said: look"


def test_openai_api_key() -> None:
    with OpenAIServer(api_key="secret") as server:
        bad = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as err:
            bad.chat.completions.create(model="gpt-4o-mini", messages=USER)
        assert err.value.code == "invalid_api_key"
        good = openai.OpenAI(base_url=server.url + "/v1", api_key="secret", max_retries=0)
        assert good.chat.completions.create(model="gpt-4o-mini", messages=USER).choices


def test_openai_errors(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="gpt-9", messages=USER, stream=True)
    assert not_found.value.code == "model_not_found"
    openai_server.script.push(
        Reply(status=429, error_message="Rate limit reached", headers={"Retry-After": "7"}),
        Reply(status=500, error_message="boom"),
    )
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.code == "rate_limit_exceeded" and "Rate limit reached" in limited.value.message
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert failed.value.type == "server_error"


def test_openai_disconnect_and_malformed(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.script.push(Reply(text="one two three four", disconnect_after=2))
    seen: list[str] = []
    with pytest.raises((openai.APIError, httpx.RemoteProtocolError)):
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True):
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["", "one ", "two "]
    openai_server.script.push(Reply(text="one two three", malformed_after=1))
    with pytest.raises((openai.APIError, json.JSONDecodeError)):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))


def test_openai_pacing(openai_server: OpenAIServer, client: openai.OpenAI) -> None:
    openai_server.script.push(Reply(chunks=["x"] * 10, tokens_per_second=40, first_token_delay=0.2))
    start = time.monotonic()
    stamps = [
        time.monotonic() - start
        for c in client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        if c.choices and c.choices[0].delta.content
    ]
    assert len(stamps) == 10
    assert 0.18 <= stamps[0] < 0.6
    assert 0.18 <= stamps[-1] - stamps[0] < 0.8  # 9 gaps of 25 ms


# --- LiteLLM --------------------------------------------------------------------------------


def test_litellm_openai_stream(litellm: ModuleType, openai_server: OpenAIServer) -> None:
    openai_server.script.push(Reply(text="via litellm"))
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=openai_server.url + "/v1",
        api_key="k",
        messages=USER,
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "via litellm"
    assert openai_server.chat_requests[-1].body["stream"] is True


def test_litellm_ollama_chat_stream(litellm: ModuleType, ollama_server: OllamaServer) -> None:
    ollama_server.script.push(Reply(text="from ollama"))
    stream = litellm.completion(
        model="ollama_chat/llama3.2", api_base=ollama_server.url, messages=USER, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "from ollama"
    assert ollama_server.chat_requests[-1].body["model"] == "llama3.2"
