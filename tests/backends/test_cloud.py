"""CloudBackend's fast path: the real openai client against the local OpenAI-protocol server."""

from __future__ import annotations

import json

import pytest

from tests.backends.conftest import FAKE_KEY, KEY_ENV, PNG, WEATHER, ask, collect, tool_round_trip
from tests.providers import OpenAIServer, Reply
from ttt.core.backends.base import Backend
from ttt.core.backends.cloud import LITELLM_NATIVE, CloudBackend, resolve
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, ProviderConfig
from ttt.core.errors import APIKeyError, ConfigurationError
from ttt.core.models import ModelInfo, model_registry
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


async def test_streams_text_usage_and_finish(cloud: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(text="Hello brave world", usage=(12, 3)))
    events = await collect(cloud, ask("fake/gpt-4o-mini"))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello ", "brave ", "world"]
    assert events[-2:] == [Usage(12, 3), Finish("stop")]
    body = oai.chat_requests[-1].body
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert oai.chat_requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_ask_streaming_and_not(cloud: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(
        Reply(text="streamed reply", usage=(5, 2)), Reply(text="whole reply", thinking="hm", usage=(6, 2))
    )
    streamed = await cloud.ask(ask("fake/gpt-4o-mini"))
    whole = await cloud.ask(ask("fake/gpt-4o-mini", stream=False))
    assert (streamed.text, streamed.backend, streamed.input_tokens, streamed.output_tokens) == (
        "streamed reply",
        "cloud",
        5,
        2,
    )
    assert (whole.text, whole.thinking, whole.input_tokens, whole.finish_reason) == (
        "whole reply",
        "hm",
        6,
        "stop",
    )
    assert "stream" not in oai.chat_requests[-1].body


async def test_reasoning_content_is_thinking(cloud: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(text="42", thinking="step one, step two"))
    events = await collect(cloud, ask("fake/gpt-4o-mini"))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "step one, step two"
    assert events.index(next(e for e in events if isinstance(e, TextDelta))) > 0


async def test_parallel_tool_calls_with_split_arguments(cloud: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]))
    events = await collect(cloud, ChatRequest("fake/gpt-4o-mini", [Message.user("q")], tools=[WEATHER]))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_weather")]
    assert [s.id for s in starts] == [c.id for c in ready] and all(c.id.startswith("call_") for c in ready)
    for index, city in ((0, "Paris"), (1, "Rome")):
        pieces = [e.arguments for e in events if isinstance(e, ToolCallDelta) and e.index == index]
        assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": city}
    assert [c.arguments for c in ready] == [{"city": "Paris"}, {"city": "Rome"}]
    assert events[-1] == Finish("tool_calls")
    assert oai.chat_requests[-1].body["tools"][0]["function"]["name"] == "get_weather"


async def test_tool_call_with_invalid_arguments_still_ready(cloud: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(tool_calls=[("get_weather", "not an object")]))  # type: ignore[list-item]
    response_events = await collect(cloud, ask("fake/gpt-4o-mini", stream=False))
    (call,) = [e.call for e in response_events if isinstance(e, ToolCallReady)]
    assert call.arguments == {} and call.raw_arguments == '"not an object"'


async def test_tool_result_round_trip_shape(cloud: CloudBackend, oai: OpenAIServer) -> None:
    await cloud.ask(ChatRequest("fake/gpt-4o-mini", tool_round_trip(), tools=[WEATHER]))
    messages = oai.chat_requests[-1].body["messages"]
    assert messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [
                {
                    "id": "call_7",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_7", "content": "sunny, 21C"},
    ]


async def test_temperature_max_tokens_and_options(cloud: CloudBackend, oai: OpenAIServer) -> None:
    request = ChatRequest(
        "fake/gpt-4o-mini", [Message.user("q")], temperature=0.3, max_tokens=50, options={"top_p": 0.9}
    )
    await cloud.ask(request)
    body = oai.chat_requests[-1].body
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.3, 50, 0.9)


async def test_images_as_data_urls(cloud: CloudBackend, oai: OpenAIServer) -> None:
    await cloud.ask(
        ChatRequest("fake/vision-model", [Message.user("what?", [ImagePart("image/png", data=PNG)])])
    )
    (message,) = oai.chat_requests[-1].body["messages"]
    assert message == {
        "role": "user",
        "content": [
            {"type": "text", "text": "what?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    }


async def test_prefix_stripped_for_the_wire(cloud: CloudBackend, oai: OpenAIServer) -> None:
    response = await cloud.ask(ask("openrouter/openai/gpt-4o-mini"))
    assert oai.chat_requests[-1].body["model"] == "openai/gpt-4o-mini"
    assert response.cost == pytest.approx((response.input_tokens * 0.15 + response.output_tokens * 0.6) / 1e6)


async def test_openai_base_url_and_key_from_environment(openai: OpenAIServer) -> None:
    backend = CloudBackend(Config())
    openai.script.push(Reply(text="hi", usage=(1000, 2000)))
    response = await backend.ask(ask("openai/gpt-4o-mini"))
    assert response.text == "hi"
    assert response.cost == pytest.approx((1000 * 0.15 + 2000 * 0.6) / 1e6)  # registry prices
    assert openai.chat_requests[-1].headers["authorization"] == "Bearer sk-test-0123456789abcdef"
    await backend.aclose()


async def test_keyless_local_server(oai: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    backend = CloudBackend(Config(providers={"lmstudio": ProviderConfig(base_url=oai.url + "/v1")}))
    with pytest.raises(APIKeyError):  # the keyed server rejects the placeholder: the request was sent
        await backend.ask(ask("lmstudio/gpt-4o-mini"))
    assert oai.chat_requests[-1].headers["authorization"] == "Bearer not-needed"
    await backend.aclose()


async def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = CloudBackend(Config())
    with pytest.raises(APIKeyError, match="GROQ_API_KEY"):
        await backend.ask(ask("groq/llama-3.3-70b-versatile"))
    with pytest.raises(APIKeyError, match=KEY_ENV):
        await CloudBackend(Config(providers={"x": ProviderConfig("http://127.0.0.1:9/v1", KEY_ENV)})).ask(
            ask("x/m")
        )


def test_routing_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(
        providers={
            "lmstudio": ProviderConfig(base_url="http://127.0.0.1:1234/v1/"),
            "anthropic": ProviderConfig(base_url="https://proxy.example/anthropic", api_key_env="MY_KEY"),
        }
    )
    route = resolve("openrouter/openai/gpt-4o-mini", config)
    assert (route.litellm, route.wire_model, route.base_url, route.key_env) == (
        False,
        "openai/gpt-4o-mini",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
    )
    lm = resolve("lmstudio/qwen", config)
    assert (lm.litellm, lm.base_url, lm.wire_model, lm.key_required) == (
        False,
        "http://127.0.0.1:1234/v1",
        "qwen",
        False,
    )
    assert resolve("openai/gpt-4o", config).base_url == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    assert not resolve("openai/gpt-4o", config).key_required
    anthropic = resolve("anthropic/claude-sonnet-4-5", config)  # a proxy for Anthropic's own protocol
    assert (anthropic.litellm, anthropic.base_url, anthropic.key_env) == (
        True,
        "https://proxy.example/anthropic",
        "MY_KEY",
    )
    gemini = resolve("gemini/gemini-2.5-pro", config)
    assert (gemini.litellm, gemini.wire_model, gemini.key_env, gemini.key_required) == (
        True,
        "gemini/gemini-2.5-pro",
        "GEMINI_API_KEY",
        True,
    )
    assert resolve("bedrock/anthropic.claude", config).key_required is False
    assert resolve("hosted_vllm/m", config).litellm and "anthropic" in LITELLM_NATIVE
    with pytest.raises(ConfigurationError, match="base_url"):
        resolve("custom/m", Config(providers={"custom": ProviderConfig(api_key_env="K")}))


async def test_client_reused_across_requests(cloud: CloudBackend, oai: OpenAIServer) -> None:
    client = cloud.client(oai.url + "/v1", FAKE_KEY)
    await cloud.ask(ask("fake/gpt-4o-mini"))
    await cloud.ask(ask("fake/gpt-4o-mini"))
    assert cloud.client(oai.url + "/v1", FAKE_KEY) is client
    assert client.max_retries == 0 and client.timeout.read == 5.0 and client.timeout.connect == 2.0
    assert len(oai.chat_requests) == 2


async def test_models(cloud: CloudBackend, oai: OpenAIServer) -> None:
    models = {m.name: m for m in await cloud.models()}
    assert models["fake/gpt-4o-mini"].available and models["fake/vision-model"].backend == "cloud"
    assert models["openrouter/openai/gpt-4o-mini"].available  # configured with a key
    assert models["anthropic/claude-sonnet-4-5"].available is False  # ANTHROPIC_API_KEY unset
    assert models["fake/gpt-4o-mini"].provider == "fake"
    assert not any(name.startswith("ollama/") for name in models)


async def test_models_leave_other_backends_models_out(cloud: CloudBackend, oai: OpenAIServer) -> None:
    class Mine(LocalBackend):
        name = "mine"

    Backend.register(Mine)
    model_registry.add_model(ModelInfo("mine/small", "mine"))
    try:
        names = {m.name for m in await cloud.models()}
    finally:
        model_registry.remove_model("mine/small")
        Backend._registry.pop("mine")
    assert "mine/small" not in names and not any(n.startswith(("ollama/", "llamacpp/")) for n in names)
    assert "openai/gpt-4o-mini" in names


async def test_status_names_keys_never_values(
    cloud: CloudBackend, oai: OpenAIServer, closed_url: str
) -> None:
    cloud.config.providers["gone"] = ProviderConfig(base_url=closed_url + "/v1")
    status = await cloud.status()
    assert status.available and status.keys[KEY_ENV] and status.keys["ANTHROPIC_API_KEY"] is False
    assert f"keys set: {KEY_ENV}" in status.detail and "fake: reachable (3 models)" in status.detail
    assert f"gone: Cannot reach {closed_url}/v1" in status.detail
    assert FAKE_KEY not in repr(status)


def test_is_available_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not CloudBackend(Config()).is_available
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x" * 20)
    assert CloudBackend(Config()).is_available
