"""ChatSession and PersistentChatSession over the real store and the local provider servers."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

import ttt
from tests.cli import test_oneshot as cli
from tests.providers import OllamaServer, Reply
from ttt.core.config import paths
from ttt.core.errors import SessionFileError
from ttt.core.session.chat import ChatSession
from ttt.core.session.persistent import PersistentChatSession
from ttt.core.session.store import Store
from ttt.core.types import TextDelta

MODEL = "ollama/llama3.2"


def test_persistent_chat_resumes_by_id(ollama: OllamaServer) -> None:
    with ttt.chat(persist=True, model=MODEL, system="be brief") as first:
        first.ask("remember 42")
    with ttt.chat(session_id=first.id) as again:
        again.ask("what number?")
    sent = ollama.chat_requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "be brief" and sent[1]["content"] == "remember 42"


def test_tool_rounds_are_stored_as_they_happened(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(tool_calls=[("calculate", {"expression": "3*3"})]), Reply(text="nine"))
    with ttt.chat(persist=True, model=MODEL) as session:
        session.ask("square", tools=["calculate"])
    stored = Store.default().history(session.id)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1].parts[-1].name == "calculate" and stored[1].parts[-1].arguments == {"expression": "3*3"}
    assert stored[2].parts[0].content == "9" and stored[3].text == "nine"
    assert stored[3].model == MODEL and stored[3].output_tokens > 0
    reloaded = PersistentChatSession.open(session.id)
    assert [m.role for m in reloaded.messages] == ["user", "assistant", "tool", "assistant"]


def test_a_new_session_reaches_the_store_with_its_first_prompt(ollama: OllamaServer) -> None:
    session = PersistentChatSession.open(model=MODEL)
    assert Store.default().list_sessions() == [], "nothing is stored before there is a prompt"
    session.ask("hello there")
    session.close()
    (record,) = Store.default().list_sessions()
    assert (record.id, record.title, record.model) == (session.id, "hello there", MODEL)
    assert [m.text for m in Store.default().history(record.id)] == ["hello there", "You said: hello there"]


def test_a_failed_turn_keeps_its_partial_reply_marked_error(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="half of an answer", disconnect_after=2))
    session = PersistentChatSession.open(model=MODEL)
    with pytest.raises(ttt.core.errors.ProviderError):
        session.ask("q")
    last = Store.default().history(session.id)[-1]
    assert (last.status, last.text) == ("error", "half of ")
    assert "dropped" in (last.error or "")


@pytest.mark.parametrize("persist", [False, True])
def test_a_turn_that_failed_before_any_reply_is_left_out_of_the_context(
    ollama: OllamaServer, persist: bool
) -> None:
    ollama.script.push(*[Reply(status=500, error_message="down") for _ in range(3)], "back")
    session = ttt.chat(persist=persist, model=MODEL)
    with pytest.raises(ttt.core.errors.ProviderError):
        session.ask("lost question")
    session.ask("asked again")
    assert [m["content"] for m in ollama.chat_requests[-1].body["messages"]] == ["asked again"]
    assert [m.text for m in session.messages] == ["asked again", "back"]
    if persist:  # the store keeps the failed turn, marked; reopened, the context leaves it out again
        stored = Store.default().history(session.id)
        assert [(m.text, m.status) for m in stored] == [
            ("lost question", "complete"),
            ("", "error"),
            ("asked again", "complete"),
            ("back", "complete"),
        ]
        assert [m.text for m in PersistentChatSession.open(session.id).messages] == ["asked again", "back"]


async def test_a_cancelled_turn_is_kept_and_marked_stopped(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="word " * 200, token_delay=0.02))
    session = PersistentChatSession.open(model=MODEL)

    streaming = asyncio.Event()

    async def consume() -> None:
        async for event in session.events("long please"):
            if isinstance(event, TextDelta):
                streaming.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(streaming.wait(), 30)
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    last = Store.default().history(session.id)[-1]
    assert last.status == "stopped" and last.text.startswith("word word")


def test_fork_clear_export_save_load(ollama: OllamaServer, tmp_path: Path) -> None:
    session = PersistentChatSession.open(model=MODEL)
    session.ask("one")
    session.ask("two")
    fork = session.fork(1)  # up to the first reply
    assert [m.text for m in fork.messages] == ["one", "You said: one"]
    fork.ask("three")
    assert [m.text for m in Store.default().history(session.id)][-1] == "You said: two", (
        "the original is intact"
    )
    assert '"format": "ttt-session"' in session.export("json")
    assert "## User" in session.export("markdown")
    path = tmp_path / "chat.json"
    session.save(path)
    loaded = ChatSession.load(path)
    assert [m.text for m in loaded.messages] == [m.text for m in session.messages]
    old = session.id
    session.clear()
    assert session.messages == [] and session.id != old and Store.default().get_session(old) is not None


def test_a_private_turn_stays_on_local_models() -> None:
    session = ChatSession(model="openai/gpt-4o-mini")
    with pytest.raises(ttt.core.errors.ConfigurationError, match=r"private \(marked private\)"):
        session.ask("hi", private=True)


def test_in_memory_session_save_load_round_trip(ollama: OllamaServer, tmp_path: Path) -> None:
    ollama.script.push(Reply(thinking="hmm", text="answer"))
    session = ChatSession(model="ollama/qwen3:8b", temperature=0.2)
    session.ask("q")
    path = tmp_path / "s.json"
    session.save(path)
    loaded = ChatSession.load(path)
    assert loaded.messages == session.messages and loaded.temperature == 0.2
    path.write_text("[1, 2")
    with pytest.raises(SessionFileError, match=str(path)):
        ChatSession.load(path)


def test_history_is_pruned_to_the_context_window(ollama: OllamaServer) -> None:
    from ttt.core.models import ModelInfo, model_registry

    model_registry.add_model(ModelInfo("ollama/qwen3:8b", "ollama", context_length=300))
    try:
        session = ChatSession(model="ollama/qwen3:8b", max_tokens=50)
        for i in range(8):
            session.ask(f"message number {i} " + "padding " * 20)
        sent = ollama.chat_requests[-1].body["messages"]
        assert sent[-1]["content"].startswith("message number 7")
        assert len(sent) < 16 and session.dropped > 0
    finally:
        model_registry.remove_model("ollama/qwen3:8b")


def test_sigkill_mid_stream_loses_nothing_earlier(ollama: OllamaServer) -> None:
    assert cli.ttt("-p", "first question", "-m", MODEL).returncode == 0
    ollama.script.push(Reply(text="streaming " * 400, token_delay=0.01))
    process = cli.spawn("-p", "second", "--continue")
    os.read(process.stdout.fileno(), 10)  # type: ignore[union-attr]
    time.sleep(1.0)  # let some batches reach the store
    process.send_signal(signal.SIGKILL)
    process.wait()
    database = paths().database
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = Store.default().history(Store.default().latest_session().id)
    assert [m.text for m in stored[:3]] == ["first question", "You said: first question", "second"]
    assert stored[3].status == "interrupted" and stored[3].text.startswith("streaming streaming")
