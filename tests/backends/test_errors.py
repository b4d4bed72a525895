"""Every failure, on every path, becomes the right AIError with a one-line message and no key.

Paths: ``local`` (ollama client), ``fast`` (openai client), ``litellm`` (LiteLLM, pointed at the
same OpenAI-protocol server as ``hosted_vllm``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.backends.conftest import FAKE_KEY, KEY_ENV, ask, collect
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.backends.base import BaseBackend
from ttt.core.backends.cloud import CloudBackend
from ttt.core.backends.error_map import map_error
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, ProviderConfig
from ttt.core.errors import (
    AIError,
    AITimeoutError,
    APIKeyError,
    BackendNotAvailableError,
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
)

MODELS = {"local": "llama3.2", "fast": "fake/gpt-4o-mini", "litellm": "hosted_vllm/gpt-4o-mini"}
GHOSTS = {"local": "ghost", "fast": "fake/ghost", "litellm": "hosted_vllm/ghost"}


@dataclass
class Path:
    name: str
    backend: BaseBackend
    server: OllamaServer | OpenAIServer
    model: str

    async def fail(self, reply: Reply | None = None, *, model: str = "", stream: bool = True) -> AIError:
        if reply is not None:
            self.server.script.push(reply)
        with pytest.raises(AIError) as caught:
            await collect(self.backend, ask(model or self.model, stream=stream))
        error = caught.value
        assert "\n" not in error.message and FAKE_KEY not in error.message and FAKE_KEY not in repr(error)
        assert error.backend == self.backend.name
        return error


def make_backend(name: str, url: str, timeout: float = 5.0) -> BaseBackend:
    config = Config(
        timeout=timeout,
        connect_timeout=1.0,
        providers={"fake": ProviderConfig(base_url=url + "/v1", api_key_env=KEY_ENV)},
    )
    config.ollama.host = url
    return LocalBackend(config) if name == "local" else CloudBackend(config)


@pytest.fixture(params=["local", "fast", "litellm"])
async def path(
    request: pytest.FixtureRequest, ollama: OllamaServer, oai: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Path]:
    name = request.param
    server = ollama if name == "local" else oai
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", oai.url + "/v1")
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", FAKE_KEY)
    backend = make_backend(name, server.url)
    yield Path(name, backend, server, MODELS[name])
    await backend.aclose()


@pytest.mark.parametrize("stream", [True, False])
async def test_auth_failure_never_shows_the_key(path: Path, stream: bool) -> None:
    error = await path.fail(
        Reply(status=401, error_message=f"Incorrect API key provided: {FAKE_KEY}"), stream=stream
    )
    assert isinstance(error, APIKeyError)
    if path.name == "fast":
        assert KEY_ENV in error.message  # says which variable to fix
    if path.name == "local":
        assert "OLLAMA_API_KEY" in error.message


@pytest.mark.parametrize("path", ["fast", "litellm"], indirect=True)  # Ollama has no key check
async def test_wrong_key_rejected(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ttt-WRONG-0123456789")
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", "sk-ttt-WRONG-0123456789")
    error = await path.fail()
    assert isinstance(error, APIKeyError) and "WRONG" not in error.message


@pytest.mark.parametrize("stream", [True, False])
async def test_model_not_found(path: Path, stream: bool) -> None:
    error = await path.fail(model=GHOSTS[path.name], stream=stream)
    assert isinstance(error, ModelNotFoundError)
    if path.name == "local":
        assert "ollama pull ghost" in error.message


@pytest.mark.parametrize("stream", [True, False])
async def test_rate_limit_with_retry_after(path: Path, stream: bool) -> None:
    error = await path.fail(Reply(status=429, headers={"Retry-After": "7"}), stream=stream)
    assert isinstance(error, RateLimitError) and error.retryable
    if path.name != "local":  # the ollama client drops response headers
        assert error.retry_after == 7.0 and "7s" in error.message


@pytest.mark.parametrize("path", ["fast", "litellm"], indirect=True)  # the ollama client drops headers
async def test_retry_after_as_http_date(path: Path) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = await path.fail(Reply(status=429, headers={"Retry-After": when}))
    assert isinstance(error, RateLimitError) and 25 <= (error.retry_after or 0) <= 31


@pytest.mark.parametrize("stream", [True, False])
async def test_server_error(path: Path, stream: bool) -> None:
    error = await path.fail(Reply(status=500, error_message="boom"), stream=stream)
    assert isinstance(error, ProviderError) and "500" in error.message and error.retryable


async def test_bad_request(path: Path) -> None:
    error = await path.fail(Reply(status=400, error_message="temperature is out of range"))
    assert isinstance(error, InvalidRequestError) and "temperature is out of range" in error.message


@pytest.mark.parametrize("stream", [True, False])
async def test_disconnect(path: Path, stream: bool) -> None:
    error = await path.fail(Reply(text="one two three four five", disconnect_after=2), stream=stream)
    assert isinstance(error, ProviderError)
    if stream:
        assert "dropped mid-stream" in error.message


@pytest.mark.parametrize("stream", [True, False])
async def test_malformed_chunk(path: Path, stream: bool) -> None:
    error = await path.fail(Reply(text="one two three four five", malformed_after=2), stream=stream)
    assert isinstance(error, ProviderError)


@pytest.mark.parametrize("stream", [True, False])
async def test_slow_first_token_times_out(path: Path, stream: bool) -> None:
    path.backend = make_backend(path.name, path.server.url, timeout=0.3)
    # One answered request first, so a client's first-use cost (LiteLLM imports for seconds) is
    # not inside the time measured below.
    await collect(path.backend, ask(path.model, stream=stream))
    started = time.monotonic()
    error = await path.fail(Reply(text="late", first_token_delay=1.5), stream=stream)
    assert isinstance(error, AITimeoutError) and "timeout" in error.message
    assert time.monotonic() - started < 1.4
    await path.backend.aclose()


@pytest.mark.parametrize("stream", [True, False])
async def test_connection_refused(
    path: Path, closed_url: str, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", closed_url + "/v1")
    path.backend = make_backend(path.name, closed_url)
    error = await path.fail(stream=stream)
    assert isinstance(error, BackendNotAvailableError) and error.retryable
    if path.name == "local":
        assert f"Ollama is not running at {closed_url}" in error.message and "ollama serve" in error.message
    elif path.name == "fast":
        assert f"Cannot reach {closed_url}/v1" in error.message
    await path.backend.aclose()


def test_unknown_exception_is_a_provider_error() -> None:
    error = map_error(RuntimeError(f"weird {FAKE_KEY}"), backend="cloud", model="fake/m")
    assert (
        isinstance(error, ProviderError) and FAKE_KEY not in error.message and "RuntimeError" in error.message
    )
    assert map_error(error, backend="x", model="y") is error


async def test_consumer_stops_early_then_next_request_works(path: Path) -> None:
    """Closing the stream (Ctrl-C, a cancelled TUI worker) releases the response cleanly."""
    path.server.script.push(Reply(chunks=[f"t{i} " for i in range(40)], token_delay=0.02), "again")
    events = path.backend.astream(ask(path.model))
    async for event in events:
        if event.kind == "text":
            break
    await events.aclose()  # type: ignore[attr-defined]
    assert (await path.backend.ask(ask(path.model))).text == "again"
