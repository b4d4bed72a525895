"""Compacting: older turns summarised by the session's model into a stored summary that later
turns send instead of them, over the real store and the local Ollama server."""

from __future__ import annotations

from pathlib import Path

import pytest

import ttt
from tests.cli.test_oneshot import ttt as run_ttt
from tests.providers import OllamaServer, Reply
from ttt.core.errors import AIError, InvalidRequestError, ProviderError
from ttt.core.session.chat import ChatSession
from ttt.core.session.compact import INSTRUCTION, SUMMARY_HEADING
from ttt.core.session.persistent import PersistentChatSession
from ttt.core.session.store import Store

MODEL = "ollama/llama3.2"


def three_turns(ollama: OllamaServer) -> PersistentChatSession:
    session = PersistentChatSession.open(model=MODEL, system="be brief")
    for word in ("alpha", "beta", "gamma"):
        session.ask(f"remember {word}")
    ollama.reset()
    return session


def sent(ollama: OllamaServer) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in ollama.chat_requests[-1].body["messages"]]


def test_compact_stores_a_summary_the_next_turns_send_instead(ollama: OllamaServer) -> None:
    session = three_turns(ollama)
    ollama.script.push("The user asked to remember alpha and beta.")
    summary = session.compact()
    assert summary == "The user asked to remember alpha and beta."
    asked = sent(ollama)
    assert asked[0] == ("system", "be brief") and asked[-1] == ("user", INSTRUCTION)
    assert [text for _, text in asked[1:-1]] == [
        "remember alpha",
        "You said: remember alpha",
        "remember beta",
        "You said: remember beta",
    ], "the newest turn stays as it is"

    session.ask("and now?")
    system = f"be brief\n\n{SUMMARY_HEADING}\n{summary}"
    expected = [
        ("system", system),
        ("user", "remember gamma"),
        ("assistant", "You said: remember gamma"),
        ("user", "and now?"),
    ]
    assert sent(ollama) == expected
    assert len(session.messages) == 8, "the summarised turns stay in the session"
    stored = Store.default().history(session.id)
    assert [m.text for m in stored][:2] == ["remember alpha", "You said: remember alpha"]
    session.close()

    with ttt.chat(session_id=session.id) as again:  # reopening keeps the summary
        assert (again.summary, again.summarised) == (summary, 4)
        again.ask("still?")
    assert sent(ollama)[0] == ("system", system)
    assert [text for _, text in sent(ollama)[1:3]] == ["remember gamma", "You said: remember gamma"]


def test_a_second_compact_summarises_the_first_summary_and_what_followed(ollama: OllamaServer) -> None:
    session = three_turns(ollama)
    ollama.script.push("first summary")
    session.compact()
    session.ask("remember delta")
    ollama.script.push("second summary")
    session.compact()
    asked = sent(ollama)
    assert asked[0] == ("system", f"be brief\n\n{SUMMARY_HEADING}\nfirst summary")
    assert [text for _, text in asked[1:-1]] == ["remember gamma", "You said: remember gamma"]
    assert (session.summary, session.summarised) == ("second summary", 6)
    session.close()


def test_a_failed_compact_loses_nothing(ollama: OllamaServer) -> None:
    Path("ttt.toml").write_text("[backends.local]\nretries = 0\n")
    session = three_turns(ollama)
    before = Store.default().get_session(session.id)
    ollama.script.push(Reply(status=500, error_message="overloaded"))
    with pytest.raises(ProviderError):
        session.compact()
    assert (session.summary, session.summarised, len(session.messages)) == ("", 0, 6)
    assert Store.default().get_session(session.id).params == before.params
    ollama.script.clear()
    ollama.script.push("", "ok")  # an empty summary is refused too
    with pytest.raises(AIError, match="empty summary"):
        session.compact()
    session.ask("all there?")
    assert len(sent(ollama)) == 8, "every turn is still sent"
    session.close()


def test_nothing_to_compact_says_so() -> None:
    session = ChatSession(model=MODEL)
    with pytest.raises(InvalidRequestError, match="Nothing to compact"):
        session.compact()


def test_in_memory_sessions_compact_too(ollama: OllamaServer) -> None:
    session = ChatSession(model=MODEL)
    session.ask("one")
    session.ask("two")
    ollama.script.push("said one")
    assert session.compact() == "said one"
    session.ask("three")
    assert [text for _, text in sent(ollama)] == [
        f"{SUMMARY_HEADING}\nsaid one",
        "two",
        "You said: two",
        "three",
    ]


def test_the_cli_compacts_a_stored_session(ollama: OllamaServer) -> None:
    session = three_turns(ollama)
    session.close()
    ollama.script.push("summary \x1b[31mfrom the cli")
    result = run_ttt("sessions", "compact", session.id[:6], "--keep", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "summary \x1b[31mfrom the cli\n"  # a pipe gets it verbatim
    assert f"compacted 2 messages of {session.id}" in result.stderr
    reopened = PersistentChatSession.open(session.id)
    assert (reopened.summary, reopened.summarised) == ("summary \x1b[31mfrom the cli", 2)
    reopened.close()
    failed = run_ttt("sessions", "compact", session.id, "--keep", "5")
    assert failed.returncode == 2 and "Nothing to compact" in failed.stderr
