"""Model strings, aliases and defaults resolve to the right backend."""

from __future__ import annotations

import pytest

from tests.providers import OllamaServer
from ttt.core.config import Config, apply
from ttt.core.errors import BackendNotAvailableError, ConfigurationError, ModelNotFoundError
from ttt.core.routing import BackendPool, Router


def router(**settings: object) -> Router:
    config = apply(Config(), settings)
    return Router(config, BackendPool(config))


@pytest.mark.parametrize(
    ("name", "model", "backend", "wire"),
    [
        ("ollama/llama3.2", "ollama/llama3.2", "local", "llama3.2"),
        ("llamacpp/smollm2", "llamacpp/smollm2", "llamacpp", "smollm2"),
        ("anthropic/claude-haiku-4-5", "anthropic/claude-haiku-4-5", "cloud", "anthropic/claude-haiku-4-5"),
        (
            "openrouter/openai/gpt-4o-mini",
            "openrouter/openai/gpt-4o-mini",
            "cloud",
            "openrouter/openai/gpt-4o-mini",
        ),
        ("local", "ollama/llama3.2", "local", "llama3.2"),
        ("fast", "openai/gpt-4o-mini", "cloud", "openai/gpt-4o-mini"),
        ("gpt-4.1-mini", "openai/gpt-4.1-mini", "cloud", "openai/gpt-4.1-mini"),
    ],
)
async def test_model_strings_and_builtin_aliases(name: str, model: str, backend: str, wire: str) -> None:
    route = await router().resolve(name)
    assert (route.model, route.backend, route.wire_model) == (model, backend, wire)


async def test_config_aliases_win_and_chain() -> None:
    r = router(aliases={"mine": "work", "work": "groq/llama-3.3-70b-versatile", "fast": "ollama/qwen3:8b"})
    assert (await r.resolve("mine")).model == "groq/llama-3.3-70b-versatile"
    assert (await r.resolve("fast")).model == "ollama/qwen3:8b"
    assert "alias" in (await r.resolve("mine")).reason


async def test_an_unprefixed_name_that_ollama_has_goes_local(ollama: OllamaServer) -> None:
    route = await router().resolve("qwen3:8b")
    assert (route.model, route.backend) == ("ollama/qwen3:8b", "local")


async def test_unknown_model_names_close_matches() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        await router().resolve("gpt-4.1-mni")
    assert "gpt-4.1-mini" in str(caught.value)


async def test_offline_refuses_cloud_models() -> None:
    with pytest.raises(ConfigurationError, match="offline"):
        await router(offline=True).resolve("openai/gpt-4o-mini")
    assert (await router(offline=True).resolve("ollama/llama3.2")).backend == "local"


async def test_default_prefers_a_cloud_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert (await router().resolve(None)).model == "anthropic/claude-haiku-4-5"
    assert (await router(model="ollama/x").resolve(None)).model == "ollama/x"


async def test_default_uses_running_ollama(ollama: OllamaServer) -> None:
    route = await router().resolve(None)
    assert (route.model, route.backend) == ("ollama/llama3.2", "local")


async def test_default_with_nothing_set_up_explains_how_to_connect(tmp_path) -> None:
    r = router(llamacpp={"binary": str(tmp_path / "missing-llama-server")})
    with pytest.raises(BackendNotAvailableError) as caught:
        await r.resolve(None)
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "ollama serve" in message and "ttt status" in message


async def test_fallbacks_follow_the_requested_model() -> None:
    r = router(fallbacks=["local", "nonsense-model", "anthropic/claude-haiku-4-5"])
    routes = await r.candidates("openai/gpt-4o-mini")
    assert [x.model for x in routes] == [
        "openai/gpt-4o-mini",
        "ollama/llama3.2",
        "anthropic/claude-haiku-4-5",
    ]
