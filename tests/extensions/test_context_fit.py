"""Pruning to the context window happens once the route has fixed the model: a literal name, an
alias, ``auto``, the default model and each fallback send exactly what fits their own window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.cli.test_oneshot import ttt
from tests.conftest import use_openai
from tests.extensions.conftest import write_config
from tests.providers import OpenAIServer
from ttt.core.config import Config, apply
from ttt.core.routing import features, known
from ttt.core.session.chat import ChatSession
from ttt.core.smart_routing import plan
from ttt.core.types import Message, RouteInfo

WINDOW = 4000  # gpt-4o-mini's window here: the newest turn before the prompt fits, older ones don't
TURN = "w" * 4000  # ~1,000 tokens a message


def history() -> list[Message]:
    """Three ~2,000-token turns."""
    return [m for i in range(3) for m in (Message.user(f"q{i} {TURN}"), Message.assistant(f"a{i} {TURN}"))]


@pytest.fixture(scope="module")
def mini_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(["gpt-4o-mini"]) as server:
        yield server


@pytest.fixture
def mini(mini_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """An OpenAI endpoint serving only gpt-4o-mini, whose window the config makes small."""
    write_config(f'[models."openai/gpt-4o-mini"]\ncontext_length = {WINDOW}\n')
    return use_openai(mini_server, monkeypatch)


async def sent_for(server: OpenAIServer, model: str | None) -> tuple[list[str], list[RouteInfo], int]:
    """What the server received for a prompt after ``history()``, the turn's routes and how many
    messages the session says were left out."""
    server.reset()
    session = ChatSession(model=model, messages=history())
    routes = [e async for e in session.events("latest") if isinstance(e, RouteInfo)]
    body = server.chat_requests[-1].body
    return [m["content"][:3] for m in body["messages"]], routes, session.dropped


async def test_every_way_of_naming_the_model_prunes_like_the_literal_name(mini: OpenAIServer) -> None:
    literal, routes, dropped = await sent_for(mini, "openai/gpt-4o-mini")
    assert literal == ["q2 ", "a2 ", "lat"] and dropped == 4
    assert routes[0].context_window == WINDOW and routes[0].left_out == 4
    assert 2_000 < routes[0].context_tokens < WINDOW
    for model in ("fast", None, "auto"):
        sent, routes, dropped = await sent_for(mini, model)
        assert (sent, dropped) == (literal, 4), model
        assert routes[0].model == "openai/gpt-4o-mini" and routes[0].left_out == 4, model
    assert "older turns left out to fit its window" in routes[0].reason  # auto says so


async def test_each_fallback_is_pruned_to_its_own_window(mini: OpenAIServer) -> None:
    write_config(f'fallbacks = ["fast"]\n[models."openai/gpt-4o-mini"]\ncontext_length = {WINDOW}\n')
    sent, routes, dropped = await sent_for(mini, "openai/gpt-4o")  # not served: a 404, then the fallback
    first, second = mini.chat_requests
    assert first.body["model"] == "gpt-4o" and len(first.body["messages"]) == 7  # its window is unknown
    assert second.body["model"] == "gpt-4o-mini" and sent == ["q2 ", "a2 ", "lat"]
    assert [r.context_window for r in routes] == [None, WINDOW]
    assert [r.left_out for r in routes] == [0, 4] and dropped == 4


async def test_a_model_of_unknown_window_gets_the_whole_conversation(mini: OpenAIServer) -> None:
    write_config()  # gpt-4o-mini's registry window: 128k, plenty
    mini.models.append("my-finetune")
    try:
        sent, routes, dropped = await sent_for(mini, "openai/my-finetune")
    finally:
        mini.models.remove("my-finetune")
    assert len(sent) == 7 and dropped == 0
    assert routes[0].context_window is None and routes[0].context_tokens > 6_000


def test_the_cli_says_when_older_turns_are_left_out(mini: OpenAIServer) -> None:
    first = ttt("-p", "one " + TURN * 2, "-m", "fast")
    assert first.returncode == 0, first.stderr
    assert "left out" not in first.stderr
    second = ttt("-p", "two", "-m", "fast", "--continue")
    assert second.returncode == 0, second.stderr
    assert [m["content"] for m in mini.chat_requests[-1].body["messages"]] == ["two"]
    assert (
        "2 older messages left out to fit openai/gpt-4o-mini's 4,000-token window "
        "(`ttt sessions compact` summarises them)"
    ) in second.stderr


def test_auto_prefers_models_the_whole_conversation_fits() -> None:
    config = apply(Config(), {"models": {"openai/gpt-4o-mini": {"context_length": WINDOW}}})
    names = ["openai/gpt-4o-mini", "openai/gpt-4.1-mini"]
    usable = {}
    for name in names:
        info = known(config, name)
        assert info is not None
        usable[name] = replace(info, backend="cloud", available=True)
    feats = features([*history(), Message.user("latest")], config)
    chain = plan(feats, usable, "openai/gpt-4o-mini", config)
    assert [name for name, _ in chain] == ["openai/gpt-4.1-mini", "openai/gpt-4o-mini"]
    assert chain[1][1].endswith("(older turns left out to fit its window)")
    alone = plan(feats, {names[0]: usable[names[0]]}, names[0], config)
    assert [name for name, _ in alone] == [names[0]]  # the default, pruned, rather than nothing
