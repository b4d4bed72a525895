"""Backends against the local provider servers, through the real ollama, openai and LiteLLM clients."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.providers import OllamaServer, OpenAIServer
from ttt.core.backends.base import BaseBackend
from ttt.core.backends.cloud import CloudBackend
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, ProviderConfig
from ttt.core.types import ChatRequest, Message, StreamEvent, TextPart, ToolCall, ToolResult, ToolSpec

FAKE_KEY = "sk-ttt-FAKEKEY-0123456789abcdefXYZ"  # recognisable: must never appear in a message
KEY_ENV = "TTT_TEST_PROVIDER_KEY"
WIRE_MODELS = ["gpt-4o-mini", "openai/gpt-4o-mini", "vision-model"]


@pytest.fixture(scope="session")
def keyed_server() -> Iterator[OpenAIServer]:
    """An OpenAI-protocol server that insists on ``FAKE_KEY``."""
    with OpenAIServer(models=WIRE_MODELS, api_key=FAKE_KEY) as server:
        yield server


@pytest.fixture
def oai(keyed_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """The keyed server, reset, with its key in ``KEY_ENV``."""
    keyed_server.reset()
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    return keyed_server


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def config(ollama: OllamaServer, oai: OpenAIServer) -> Config:
    """Short timeouts; ``fake/`` and ``openrouter/`` are OpenAI endpoints on the keyed server."""
    endpoint = ProviderConfig(base_url=oai.url + "/v1", api_key_env=KEY_ENV)
    return Config(timeout=5.0, connect_timeout=2.0, providers={"fake": endpoint, "openrouter": endpoint})


@pytest.fixture
async def local(config: Config) -> AsyncIterator[LocalBackend]:
    backend = LocalBackend(config)
    yield backend
    await backend.aclose()


@pytest.fixture
async def cloud(config: Config) -> AsyncIterator[CloudBackend]:
    backend = CloudBackend(config)
    yield backend
    await backend.aclose()


async def collect(backend: BaseBackend, request: ChatRequest) -> list[StreamEvent]:
    return [event async for event in backend.astream(request)]


def ask(model: str, text: str = "hi", **kwargs: object) -> ChatRequest:
    return ChatRequest(model, [Message.user(text)], **kwargs)  # type: ignore[arg-type]


def kinds(events: list[StreamEvent]) -> list[str]:
    return [e.kind for e in events]


# a 1x1 PNG, base64
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def tool_round_trip() -> list[Message]:
    """A turn after one tool call: system, user, assistant call, tool result."""
    call = ToolCall("call_7", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    return [
        Message.system("be brief"),
        Message.user("weather in Paris?"),
        Message("assistant", [TextPart("checking"), call]),
        Message("tool", [ToolResult("call_7", "get_weather", "sunny, 21C")]),
    ]
