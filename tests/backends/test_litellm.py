"""CloudBackend's LiteLLM path, driven for real: ``hosted_vllm/`` is a provider LiteLLM serves
itself (not our fast path) that speaks the OpenAI protocol to ``HOSTED_VLLM_API_BASE``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest

from tests.backends.conftest import FAKE_KEY, PNG, WEATHER, ask, collect, tool_round_trip
from tests.conftest import REPO
from tests.providers import OpenAIServer, Reply
from ttt.core.backends.cloud import CloudBackend, _litellm_cost
from ttt.core.config import Config
from ttt.core.errors import InvalidRequestError, ProviderError
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
    Usage,
)

MODEL = "hosted_vllm/gpt-4o-mini"


@pytest.fixture
async def via_litellm(oai: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CloudBackend]:
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", oai.url + "/v1")
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", FAKE_KEY)
    backend = CloudBackend(Config(timeout=5.0))
    yield backend
    await backend.aclose()


async def test_no_litellm_output_on_stdout(
    via_litellm: CloudBackend, oai: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs first in this module, so it usually covers the import as well as a failing call."""
    oai.script.push("fine", Reply(status=500))
    assert (await via_litellm.ask(ask(MODEL))).text == "fine"
    with pytest.raises(ProviderError):
        await via_litellm.ask(ask(MODEL))
    assert capsys.readouterr().out == ""


async def test_streams_text_thinking_usage(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(text="Hello brave world", thinking="hmm", usage=(12, 3)))
    events = await collect(via_litellm, ask(MODEL))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello brave world"
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "hmm"
    usage = next(e for e in events if isinstance(e, Usage))
    assert (usage.input_tokens, usage.output_tokens) == (12, 3) and events[-1] == Finish("stop")
    body = oai.chat_requests[-1].body
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True
    assert oai.chat_requests[-1].headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_not_streamed(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(text="whole reply", usage=(6, 2)))
    response = await via_litellm.ask(ask(MODEL, stream=False))
    assert (response.text, response.input_tokens, response.output_tokens) == ("whole reply", 6, 2)
    assert not oai.chat_requests[-1].body.get("stream")


async def test_parallel_tool_calls(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]))
    events = await collect(via_litellm, ChatRequest(MODEL, [Message.user("q")], tools=[WEATHER]))
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(c.name, c.arguments) for c in ready] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    for index in (0, 1):
        pieces = [e.arguments for e in events if isinstance(e, ToolCallDelta) and e.index == index]
        assert json.loads("".join(pieces)) == ready[index].arguments
    assert events[-1] == Finish("tool_calls")


async def test_request_shape(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    await via_litellm.ask(
        ChatRequest(MODEL, tool_round_trip(), tools=[WEATHER], temperature=0.2, max_tokens=40)
    )
    body = oai.chat_requests[-1].body
    assert (body["temperature"], body["max_tokens"]) == (0.2, 40)
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assistant, tool = body["messages"][2], body["messages"][3]
    assert assistant["tool_calls"][0]["id"] == "call_7"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert tool == {"role": "tool", "tool_call_id": "call_7", "content": "sunny, 21C"}


async def test_images(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    await via_litellm.ask(ChatRequest(MODEL, [Message.user("what?", [ImagePart("image/png", data=PNG)])]))
    content = oai.chat_requests[-1].body["messages"][0]["content"]
    urls = [part["image_url"] for part in content if part["type"] == "image_url"]
    assert [u["url"] if isinstance(u, dict) else u for u in urls] == [f"data:image/png;base64,{PNG}"]


async def test_context_window_exceeded(via_litellm: CloudBackend, oai: OpenAIServer) -> None:
    oai.script.push(Reply(status=400, error_message="This model's maximum context length is 8192 tokens."))
    with pytest.raises(InvalidRequestError, match="too long"):
        await via_litellm.ask(ask(MODEL))


async def test_cost_from_registry_when_litellm_has_no_price(
    via_litellm: CloudBackend, oai: OpenAIServer
) -> None:
    model_registry.add_model(ModelInfo(MODEL, "hosted_vllm", input_price=1.0, output_price=2.0))
    try:
        oai.script.push(Reply(text="x", usage=(1000, 500)))
        assert (await via_litellm.ask(ask(MODEL))).cost == pytest.approx(0.002)
    finally:
        model_registry.remove_model(MODEL)


def test_litellm_cost_map() -> None:
    import litellm

    cost = _litellm_cost(litellm, "openai/gpt-4o-mini", Usage(1_000_000, 0))
    assert cost == pytest.approx(0.15)
    assert _litellm_cost(litellm, "hosted_vllm/unknown", Usage(1, 1)) is None


def test_fast_path_never_imports_litellm(oai: OpenAIServer) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from ttt.core.backends.cloud import CloudBackend
        from ttt.core.config import Config, ProviderConfig
        from ttt.core.types import ChatRequest, Message
        config = Config(providers={{"fake": ProviderConfig("{oai.url}/v1", "TTT_TEST_PROVIDER_KEY")}})
        reply = asyncio.run(CloudBackend(config).ask(ChatRequest("fake/gpt-4o-mini", [Message.user("hi")])))
        print(reply.text, "litellm" in sys.modules)
    """)
    env = {"PATH": "/usr/bin:/bin", "TTT_TEST_PROVIDER_KEY": FAKE_KEY, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "You said: hi False", done.stderr
