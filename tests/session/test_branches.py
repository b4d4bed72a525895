"""Branches of a stored session: regenerate and edit add siblings in place, switching follows the
newest leaf, the choice is stored, and the model is sent the active branch only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.providers import OllamaServer
from ttt.core.errors import AIError
from ttt.core.session.branches import Branch, BranchPoint, branch_points, branches, siblings, switch
from ttt.core.session.persistent import PersistentChatSession
from ttt.core.session.store import Store, StoreError
from ttt.core.types import Message

MODEL = "ollama/llama3.2"


def sent(ollama: OllamaServer) -> list[str]:
    return [m["content"] for m in ollama.chat_requests[-1].body["messages"]]


def texts(session: PersistentChatSession) -> list[str]:
    return [m.text for m in session.messages]


def test_switch_goes_to_the_newest_leaf_under_a_sibling_and_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    with Store(path) as store:
        s = store.create_session()
        u1 = store.add_message(s.id, Message.user("q"))
        a1 = store.add_message(s.id, Message.assistant("first"))
        u2 = store.add_message(s.id, Message.user("more"))
        old_leaf = store.add_message(s.id, Message.assistant("more answer"))
        a2 = store.add_message(s.id, Message.assistant("second"), parent_id=u1)
        assert store.active_leaf(s.id) == a2  # a new message is on the branch shown
        assert siblings(store, a1) == [a1, a2]
        assert branch_points(store, [u1, a1, u2, a2]) == {a1: BranchPoint(1, 2), a2: BranchPoint(2, 2)}
        assert switch(store, s.id, a1) == old_leaf
        assert [m.id for m in store.history(s.id)] == [u1, a1, u2, old_leaf]
        assert branches(store, s.id) == [Branch(old_leaf, 4, True), Branch(a2, 2, False)]
    with Store(path) as reopened:
        assert reopened.active_leaf(s.id) == old_leaf
        follow = reopened.add_message(s.id, Message.user("after"))  # no parent: after the active leaf
        assert reopened.get_message(follow).parent_id == old_leaf  # type: ignore[union-attr]


def test_switch_refuses_a_message_of_another_session_or_none(tmp_path: Path) -> None:
    with Store(tmp_path / "b.db") as store:
        one, other = store.create_session(), store.create_session()
        mine = store.add_message(one.id, Message.user("mine"))
        theirs = store.add_message(other.id, Message.user("theirs"))
        for missing in (theirs, 10_000):
            with pytest.raises(StoreError, match=f"Message {missing} is not in session {one.id}"):
                switch(store, one.id, missing)
        assert store.active_leaf(one.id) == mine


def test_regenerate_keeps_both_replies_and_the_model_sees_the_visible_branch(ollama: OllamaServer) -> None:
    ollama.script.push("first answer", "second answer", "on the first branch")
    session = PersistentChatSession.open(model=MODEL)
    session.ask("q")
    assert session.regenerate().text == "second answer"
    assert sent(ollama) == ["q"]  # asked once more, not twice
    assert texts(session) == ["q", "second answer"]
    stored = session.store.messages(session.id)
    assert [m.text for m in stored] == ["q", "first answer", "second answer"]
    prompt, first, second = (m.id for m in stored)
    assert [b.active for b in session.branches()] == [False, True]
    assert branch_points(session.store, [prompt, first, second]) == {
        first: BranchPoint(1, 2),
        second: BranchPoint(2, 2),
    }
    session.switch(first)
    assert session.leaf == first and texts(session) == ["q", "first answer"]
    session.ask("go on")
    assert sent(ollama) == ["q", "first answer", "go on"]
    session.close()
    reopened = PersistentChatSession.open(session.id)
    assert texts(reopened) == ["q", "first answer", "go on", "on the first branch"]


def test_edit_stores_the_new_prompt_beside_the_old_one(ollama: OllamaServer) -> None:
    session = PersistentChatSession.open(model=MODEL)
    session.ask("one")
    session.ask("two")
    before = session.store.history(session.id)
    old_prompt = before[2]
    assert session.edit(old_prompt.id).text == "two"
    assert texts(session) == ["one", "You said: one"]
    assert session.store.history(session.id) == before, "nothing changes until the new prompt is sent"
    session.ask("two, better")
    assert sent(ollama) == ["one", "You said: one", "two, better"]
    new_prompt = session.store.history(session.id)[2]
    assert new_prompt.parent_id == old_prompt.parent_id
    assert branch_points(session.store, [new_prompt.id]) == {new_prompt.id: BranchPoint(2, 2)}
    assert len(session.store.list_sessions()) == 1, "no new session"
    session.switch(old_prompt.id)
    assert texts(session) == ["one", "You said: one", "two", "You said: two"]


def test_editing_the_first_prompt_starts_a_new_root_branch(ollama: OllamaServer) -> None:
    session = PersistentChatSession.open(model=MODEL)
    session.ask("first")
    first = session.store.history(session.id)[0]
    session.edit(first.id)
    assert session.messages == [] and session.leaf is None
    session.ask("other first")
    assert sent(ollama) == ["other first"]
    root = session.store.history(session.id)[0]
    assert root.parent_id is None and siblings(session.store, root.id) == [first.id, root.id]


def test_bad_branch_requests_are_refused_clearly(ollama: OllamaServer) -> None:
    session = PersistentChatSession.open(model=MODEL)
    with pytest.raises(AIError, match="no prompt to ask again"):
        session.regenerate()
    session.ask("q")
    reply = session.store.history(session.id)[-1]
    with pytest.raises(StoreError, match=f"Message {reply.id} is no prompt of this session"):
        session.edit(reply.id)
    with pytest.raises(StoreError, match="is not in session"):
        session.switch(reply.id + 100)
    assert texts(session) == ["q", "You said: q"]


def test_a_summary_follows_the_branch_that_holds_what_it_covers(ollama: OllamaServer, tmp_path: Path) -> None:
    """Compact on one branch; switching to a sibling of the first prompt drops the summary, and
    switching back brings it again."""
    ollama.script.push("a1", "a2", "the summary", "b1")
    with Store(tmp_path / "s.db") as store:
        session = PersistentChatSession.open(store=store, model=MODEL)
        session.ask("q1")
        session.ask("q2")
        assert session.compact(keep_turns=1) == "the summary"
        first = session.store.history(session.id, session.leaf)[0].id
        session.edit(first)
        session.ask("other start")
        assert session.summarised == 0 and "the summary" not in str(ollama.chat_requests[-1].body)
        session.switch(first)
        assert session.summary == "the summary" and session.summarised == 2
