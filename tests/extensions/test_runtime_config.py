"""Runtime updates with ``configure`` and per-backend connection settings."""

from __future__ import annotations

import time

import pytest

from tests.extensions.conftest import write_config
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core import api
from ttt.core.config import Config, apply
from ttt.core.config_sections import DEFAULT_POOL_SIZE, Connection
from ttt.core.errors import AITimeoutError, ConfigurationError, ProviderError
from ttt.core.types import RouteInfo


async def test_configure_applies_from_the_next_request(local: OllamaServer) -> None:
    api.configure(model="ollama/llama3.2")
    assert (await api.ask_async("hi")).model == "ollama/llama3.2"
    api.configure(model="ollama/qwen2.5-coder", system="be brief")
    response = await api.ask_async("hi")
    assert response.model == "ollama/qwen2.5-coder"
    assert local.chat_requests[-1].body["messages"][0] == {"role": "system", "content": "be brief"}


async def test_a_bad_configure_changes_nothing(local: OllamaServer) -> None:
    api.configure(model="ollama/llama3.2")
    with pytest.raises(ConfigurationError, match="'timeout' must be a number"):
        api.configure(model="ollama/qwen2.5-coder", timeout="soon")
    assert (await api.ask_async("hi")).model == "ollama/llama3.2"


def test_connection_settings_fall_back_to_the_global_ones() -> None:
    config = apply(
        Config(),
        {"timeout": 50, "retries": 4, "backends": {"local": {"pool_size": 2, "first_token_timeout": 9}}},
    )
    assert config.connection("local") == Connection(2, 10.0, 50.0, 9.0, 4)
    assert config.connection("cloud") == Connection(DEFAULT_POOL_SIZE, 10.0, 50.0, 50.0, 4)


def test_unknown_connection_settings_are_rejected_with_their_line() -> None:
    write_config("[backends.local]\npool = 3\n")
    with pytest.raises(ConfigurationError, match=r"ttt\.toml, line 2: 'backends.local.pool' is not a known"):
        api.get_config()


async def test_retries_are_per_backend(local: OllamaServer, cloud: OpenAIServer) -> None:
    write_config("retries = 0\n[backends.cloud]\nretries = 3\n")
    cloud.script.push(*[Reply(status=429, headers={"retry-after": "0"})] * 3, Reply(text="fourth time"))
    assert (await api.ask_async("hi", model="openai/gpt-4o-mini")).text == "fourth time"
    assert len(cloud.chat_requests) == 4
    local.script.push(Reply(status=500), Reply(text="never asked"))
    with pytest.raises(ProviderError):
        await api.ask_async("hi", model="ollama/llama3.2")
    assert len(local.chat_requests) == 1


async def test_the_first_token_timeout_falls_back(local: OllamaServer) -> None:
    write_config(
        'retries = 0\nfallbacks = ["ollama/qwen2.5-coder"]\n[backends.local]\nfirst_token_timeout = 0.5\n'
    )
    local.script.push(Reply(text="too late", first_token_delay=3), Reply(text="in time"))
    started = time.monotonic()
    events = [e async for e in api.events_async("hi", model="ollama/llama3.2")]
    assert time.monotonic() - started < 2.5
    routes = [e for e in events if isinstance(e, RouteInfo)]
    assert routes[1].model == "ollama/qwen2.5-coder"
    assert "No first token within 0.5 s" in routes[1].reason
    assert events[-1].response.text == "in time"  # type: ignore[union-attr]


async def test_the_first_token_timeout_does_not_cut_a_slow_stream(local: OllamaServer) -> None:
    write_config("retries = 0\n[backends.local]\nfirst_token_timeout = 0.5\n")
    local.script.push(Reply(text="one two three four five", first_token_delay=0.1, token_delay=0.2))
    assert (await api.ask_async("hi", model="ollama/llama3.2")).text == "one two three four five"


async def test_no_first_token_is_a_timeout_error(local: OllamaServer) -> None:
    write_config("retries = 0\n[backends.local]\nfirst_token_timeout = 0.3\n")
    local.script.push(Reply(text="late", first_token_delay=2))
    with pytest.raises(AITimeoutError, match="first_token_timeout"):
        await api.ask_async("hi", model="ollama/llama3.2")


async def test_an_edited_config_file_applies_after_reload(local: OllamaServer) -> None:
    from ttt.core.config import files_signature

    api.configure(system="from the program")
    before = files_signature()
    assert (await api.ask_async("hi")).model == "ollama/llama3.2"  # the default: Ollama runs
    write_config('model = "ollama/qwen2.5-coder"\n')
    assert files_signature() != before
    api.reload_config()
    response = await api.ask_async("hi")
    assert response.model == "ollama/qwen2.5-coder"
    assert local.chat_requests[-1].body["messages"][0]["content"] == "from the program"


async def test_an_invalid_edit_keeps_the_old_config(local: OllamaServer) -> None:
    write_config('model = "ollama/qwen2.5-coder"\n')
    api.reload_config()
    write_config("model = [broken\n")
    with pytest.raises(ConfigurationError, match=r"ttt\.toml: invalid TOML"):
        api.reload_config()
    assert (await api.ask_async("hi")).model == "ollama/qwen2.5-coder"
