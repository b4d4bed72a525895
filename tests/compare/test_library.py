"""``compare`` in the library: models asked at once, each result its own, replies stored side by side."""

from __future__ import annotations

import pytest

import ttt
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.comparison import run_comparison
from ttt.core.errors import InvalidRequestError, ModelNotFoundError
from ttt.core.session.branches import siblings
from ttt.core.session.persistent import PersistentChatSession
from ttt.core.session.store import Store
from ttt.core.types import AIResponse

SLOW, FAST = "ollama/llama3.2", "openai/gpt-4o-mini"


async def test_a_slow_model_does_not_hold_up_a_fast_one(ollama: OllamaServer, openai: OpenAIServer) -> None:
    ollama.script.push(Reply(text="slow and steady", first_token_delay=1.5))
    openai.script.push(Reply(text="quick"))
    seen: list[tuple[int, str]] = []

    def on_event(index: int, event: object) -> None:
        seen.append((index, type(event).__name__))

    entries = await run_comparison("hi", [SLOW, FAST], on_event=on_event)
    assert [str(e.result) for e in entries] == ["slow and steady", "quick"]  # in the order asked
    fast_done = seen.index((1, "Done"))
    assert (0, "TextDelta") not in seen[:fast_done]  # the fast one finished before the slow one began
    assert seen[-1] == (0, "Done")
    assert len(ollama.chat_requests) == len(openai.chat_requests) == 1


def test_one_failing_model_leaves_the_others_their_answers(
    ollama: OllamaServer, openai: OpenAIServer
) -> None:
    openai.script.push(Reply(text="fine"))
    results = ttt.compare("hi", ["ollama/missing", FAST])
    assert isinstance(results[0], ModelNotFoundError)
    assert isinstance(results[1], AIResponse) and str(results[1]) == "fine"


async def test_compare_async_is_exported(ollama: OllamaServer, openai: OpenAIServer) -> None:
    results = await ttt.compare_async("ping", "ollama/llama3.2,openai/gpt-4o-mini")
    assert [str(r) for r in results] == ["You said: ping", "You said: ping"]


@pytest.mark.parametrize("models", [["ollama/llama3.2"], ["a/1", "a/2", "a/3", "a/4", "a/5"], [SLOW, SLOW]])
def test_the_number_of_models_is_checked_before_anything_is_sent(
    ollama: OllamaServer, models: list[str]
) -> None:
    with pytest.raises(InvalidRequestError, match=r"[Cc]ompare"):
        ttt.compare("hi", models)
    assert ollama.chat_requests == []


def test_an_unknown_model_name_is_refused_before_anything_is_sent(ollama: OllamaServer) -> None:
    with pytest.raises(InvalidRequestError, match="nosuchmodel"):
        ttt.compare("hi", [SLOW, "nosuchmodel"])
    assert ollama.chat_requests == []


def test_with_a_session_each_reply_is_stored_beside_the_others(
    ollama: OllamaServer, openai: OpenAIServer, tmp_path: object
) -> None:
    ollama.script.push("from ollama")
    openai.script.push("from openai")
    with Store(tmp_path / "s.db") as store:  # type: ignore[operator]
        session = PersistentChatSession.open(store=store)
        results = ttt.compare("which is best?", [SLOW, FAST], session=session)
        assert [str(r) for r in results] == ["from ollama", "from openai"]
        history = store.history(session.id)
        assert [m.text for m in history] == ["which is best?", "from ollama"]  # the first answer is kept
        replies = siblings(store, history[-1].id)
        assert sorted(store.get_message(r).text for r in replies) == ["from ollama", "from openai"]  # type: ignore[union-attr]
        assert {store.get_message(r).model for r in replies} == {SLOW, FAST}  # type: ignore[union-attr]
        assert store.get_session(session.id).title == "which is best?"  # type: ignore[union-attr]
        assert session.ask("and why?", model=SLOW).text == "You said: and why?"
        assert [m["content"] for m in ollama.chat_requests[-1].body["messages"]] == [
            "which is best?",
            "from ollama",
            "and why?",
        ]
