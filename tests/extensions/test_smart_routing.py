"""``-m auto``: each rule of smart routing, as a pure plan and over the provider servers."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.cli.test_oneshot import ttt
from tests.extensions.conftest import write_config
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core import api
from ttt.core.config import Config, apply
from ttt.core.errors import ConfigurationError, InvalidRequestError
from ttt.core.models import ModelInfo, model_registry
from ttt.core.routing import BackendPool, Router, features
from ttt.core.smart_routing import no_candidate, plan
from ttt.core.types import ImagePart, Message, RouteInfo


def usable(*names: str) -> dict[str, ModelInfo]:
    """Registry models as smart routing sees them when their backend can serve them."""
    found = {}
    for name in names:
        info = model_registry.get(name)
        assert info is not None
        backend = "local" if name.startswith("ollama/") else "cloud"
        found[name] = replace(info, backend=backend, available=True)
    return found


EVERYTHING = usable(
    "openai/gpt-4o-mini",
    "openai/gpt-4.1-mini",
    "anthropic/claude-sonnet-4-5",
    "ollama/llama3.2",
    "ollama/llava",
)


def choose(
    prompt: str, *, images: int = 0, models: dict[str, ModelInfo] = EVERYTHING, **settings: object
) -> str:
    config = apply(Config(), settings)
    message = Message.user(prompt, [ImagePart("image/png", "AAAA")] * images)
    expand = Router(config, BackendPool(config)).expand_alias
    chosen = plan(features([message], config), models, "openai/gpt-4o-mini", config, expand)
    return chosen[0][0] + " | " + chosen[0][1]


def test_code_questions_go_to_a_preferred_code_model() -> None:
    choice = choose("Why does this Python function raise a KeyError?")
    assert choice.startswith("anthropic/claude-sonnet-4-5 | auto: rule 'code'")


def test_images_go_to_a_vision_model() -> None:
    assert choose("what is this?", images=1).startswith(
        "openai/gpt-4o-mini | auto: rule 'images' (1 image attached)"
    )


def test_the_private_marker_keeps_a_request_local() -> None:
    choice = choose("#private my salary is 10k, write a budget in Python")
    assert choice.startswith("ollama/llama3.2 | auto: rule 'private' (the prompt contains '#private')")


def test_private_images_go_to_a_local_vision_model() -> None:
    assert choose("#private who is this?", images=1).startswith("ollama/llava")


def test_offline_keeps_every_choice_local() -> None:
    assert choose("Refactor this Python code", offline=True).startswith(
        "ollama/llama3.2 | auto: rule 'private' (offline mode)"
    )


def test_inputs_too_long_go_to_a_model_whose_window_fits() -> None:
    choice = choose("word " * 140_000)  # ~175k tokens: more than gpt-4o-mini's and llama3.2's window
    assert choice.startswith("openai/gpt-4.1-mini | auto: → openai/gpt-4.1-mini, a usable model that fits")
    assert "don't fit openai/gpt-4o-mini's 128,000-token window" in choice


def test_other_requests_get_the_default() -> None:
    assert (
        choose("hello there")
        == "openai/gpt-4o-mini | auto: no rule chose a model → the default, openai/gpt-4o-mini"
    )


def test_only_usable_models_are_considered() -> None:
    only_openai = usable("openai/gpt-4o-mini", "openai/gpt-4.1-mini")
    assert choose("Debug this Rust compiler error", models=only_openai).startswith(
        "openai/gpt-4o-mini | auto: rule 'code'"
    )


def test_the_plan_is_deterministic() -> None:
    config = Config()
    feats = features([Message.user("Explain this SQL query")], config)
    expected = plan(feats, EVERYTHING, "openai/gpt-4o-mini", config)
    for seed in range(5):
        items = list(EVERYTHING.items())
        random.Random(seed).shuffle(items)
        assert plan(feats, dict(items), "openai/gpt-4o-mini", config) == expected


def test_no_vision_model_is_a_clear_error() -> None:
    config = Config()
    feats = features([Message.user("what is this?", [ImagePart("image/png", "AAAA")])], config)
    text_only = usable("ollama/llama3.2")
    assert plan(feats, text_only, None, config) == []
    assert isinstance(no_candidate(feats, text_only, config), InvalidRequestError)
    assert "vision" in str(no_candidate(feats, text_only, config))


def test_rules_are_data_in_the_config() -> None:
    rules = {"routing": {"rules": [{"name": "poems", "pattern": r"\bpoem\b", "prefer": ["ollama/llava"]}]}}
    assert choose("Write a POEM about the sea", **rules).startswith("ollama/llava | auto: rule 'poems'")
    assert choose("Write Python code", **rules).startswith("openai/gpt-4o-mini | auto: no rule")


def test_a_bad_pattern_names_its_rule() -> None:
    with pytest.raises(ConfigurationError, match="routing rule 'broken'"):
        choose("hi", routing={"rules": [{"name": "broken", "pattern": "(unclosed"}]})


# --- over the wire -----------------------------------------------------------------------------


async def test_auto_sends_a_code_question_to_a_code_model(local: OllamaServer, cloud: OpenAIServer) -> None:
    response = await api.ask_async("Refactor this Python function: def f(x): return x", model="auto")
    # claude is preferred but has no key here; gpt-4.1 is the next preferred model
    assert (response.model, cloud.chat_requests[-1].body["model"]) == ("openai/gpt-4.1", "gpt-4.1")
    assert local.chat_requests == []


async def test_model_auto_in_the_config_file(local: OllamaServer, cloud: OpenAIServer) -> None:
    write_config('model = "auto"\n')
    events = [e async for e in api.events_async("hello")]
    route = events[0]
    assert isinstance(route, RouteInfo) and route.model == "openai/gpt-4o-mini"
    assert route.reason.startswith("auto: no rule chose a model → the default")


async def test_the_router_resolves_auto_without_a_request(local: OllamaServer) -> None:
    config = apply(api.get_config(), {"model": "auto"})
    pool = BackendPool(config)
    try:
        route = await Router(config, pool).resolve()
    finally:
        await pool.aclose()
    assert (route.model, route.backend) == ("ollama/llama3.2", "local")


async def test_an_unreachable_choice_falls_through(local: OllamaServer, cloud: OpenAIServer) -> None:
    write_config("[backends.cloud]\nretries = 0\n")
    cloud.script.push(Reply(status=500, error_message="overloaded"))
    local.script.push("from qwen")
    events = [
        e
        async for e in api.events_async("Fix this bash script: for i in 1 2; do echo $i; done", model="auto")
    ]
    routes = [e for e in events if isinstance(e, RouteInfo)]
    assert [r.model for r in routes] == ["openai/gpt-4.1", "ollama/qwen2.5-coder"]
    assert routes[1].reason.startswith("fallback after provider error")
    assert len(cloud.chat_requests) == 1  # the cloud backend's own retries = 0
    assert local.chat_requests[-1].body["model"] == "qwen2.5-coder"


async def test_a_long_input_goes_where_it_fits(local: OllamaServer, cloud: OpenAIServer) -> None:
    write_config('[models."openai/gpt-4o-mini"]\ncontext_length = 2000\n')
    events = [e async for e in api.events_async("word " * 4000, model="auto")]
    route = events[0]
    assert isinstance(route, RouteInfo) and route.model == "ollama/llama3.2"
    assert "don't fit openai/gpt-4o-mini's 2,000-token window" in route.reason


async def test_a_private_request_to_a_cloud_model_is_refused(cloud: OpenAIServer) -> None:
    with pytest.raises(ConfigurationError, match="private"):
        await api.ask_async("#private my bank details", model="openai/gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="private"):
        await api.ask_async("my bank details", model="openai/gpt-4o-mini", private=True)
    assert cloud.chat_requests == []


def test_explain_prints_the_choice_and_why(local: OllamaServer, cloud: OpenAIServer) -> None:
    local.script.push("kept local")
    result = ttt("-p", "#private summarise my medical notes", "-m", "auto", "--explain")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "kept local\n"
    assert "using ollama/llama3.2: auto: rule 'private' (the prompt contains '#private')" in result.stderr
    assert cloud.chat_requests == []


def test_offline_auto_from_the_cli(local: OllamaServer, cloud: OpenAIServer) -> None:
    result = ttt("--offline", "-m", "auto", "-p", "Write a Python function", "--explain")
    assert result.returncode == 0, result.stderr
    assert "using ollama/llama3.2: auto: rule 'private' (offline mode)" in result.stderr
    assert cloud.chat_requests == [] and len(local.chat_requests) == 1


@pytest.mark.parametrize("default", ["anthropic/claude-haiku-4-5", "no-such-model"])
async def test_an_unusable_default_leaves_the_choice_to_usable_models(
    local: OllamaServer, default: str
) -> None:
    write_config(f'[routing]\ndefault = "{default}"\n')  # no key for the one, unknown the other
    response = await api.ask_async("hello", model="auto")
    assert response.model == "ollama/llama3.2"
