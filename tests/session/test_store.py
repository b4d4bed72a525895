"""The Store API against a real SQLite file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from ttt.core.session import database, search
from ttt.core.session import store as store_module
from ttt.core.session.store import ROOT, SessionNotFoundError, Store, StoreError, cache_key
from ttt.core.types import Message, TextPart, ThinkingPart, ToolCall

from .conftest import every_part_messages


def fts_consistent(path: Path) -> None:
    """FTS5's own check that the index matches the text it was built from."""
    db = sqlite3.connect(path)
    db.execute("INSERT INTO parts_fts(parts_fts, rank) VALUES ('integrity-check', 1)")
    db.execute("INSERT INTO sessions_fts(sessions_fts) VALUES ('integrity-check')")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_open_sets_pragmas_and_creates_folder(db_path: Path) -> None:
    with Store(db_path) as store:
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == database.BUSY_TIMEOUT_MS
    assert db_path.is_file()


def test_default_uses_ttt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTT_HOME", str(tmp_path / "home"))
    with Store.default() as store:
        assert store.path == tmp_path / "home" / "data" / "ttt.db"


def test_session_crud(store: Store) -> None:
    s = store.create_session("First", "openai/gpt-4o", "Be nice.", {"temperature": 0.2})
    assert len(s.id) == 12 and int(s.id, 16) >= 0
    got = store.get_session(s.id)
    assert got is not None
    assert (got.title, got.model, got.system, got.params) == (
        "First",
        "openai/gpt-4o",
        "Be nice.",
        {"temperature": 0.2},
    )
    store.rename(s.id, "Renamed")
    store.set_model(s.id, "ollama/llama3")
    store.set_system(s.id, "Be brief.")
    store.set_params(s.id, {"max_tokens": 5})
    got = store.get_session(s.id)
    assert got and (got.title, got.model, got.system, got.params) == (
        "Renamed",
        "ollama/llama3",
        "Be brief.",
        {"max_tokens": 5},
    )
    store.delete(s.id)
    assert store.get_session(s.id) is None
    for call in (store.rename, store.delete, store.archive):
        with pytest.raises(SessionNotFoundError):
            call(s.id, *(["x"] if call == store.rename else []))


def test_list_sessions_newest_first_with_paging_and_archive(store: Store) -> None:
    ids = [store.create_session(f"s{i}").id for i in range(5)]
    store.add_message(ids[1], Message.user("bump"))  # activity moves a session to the top
    listed = [s.id for s in store.list_sessions()]
    assert listed == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    assert [s.id for s in store.list_sessions(limit=2, offset=1)] == [ids[4], ids[3]]
    assert store.list_sessions(limit=1)[0].message_count == 1
    store.archive(ids[4])
    assert ids[4] not in [s.id for s in store.list_sessions()]
    assert ids[4] in [s.id for s in store.list_sessions(include_archived=True)]
    assert store.get_session(ids[4]).archived  # type: ignore[union-attr]
    store.unarchive(ids[4])
    assert ids[4] in [s.id for s in store.list_sessions()]
    assert store.latest_session().id == ids[1]  # type: ignore[union-attr]


def test_latest_session_empty(store: Store) -> None:
    assert store.latest_session() is None


def test_resolve_prefix(store: Store) -> None:
    a = store.create_session("a")
    assert store.resolve(a.id) == a.id
    assert store.resolve(a.id[:6]) == a.id
    with pytest.raises(SessionNotFoundError):
        store.resolve("zzzz")
    with pytest.raises(SessionNotFoundError):
        store.resolve("*")


def test_messages_round_trip_every_part(store: Store) -> None:
    s = store.create_session()
    originals = every_part_messages()
    ids = [
        store.add_message(s.id, m, model="m1", input_tokens=3, output_tokens=4, cost=0.5) for m in originals
    ]
    stored = store.messages(s.id)
    assert [m.id for m in stored] == ids
    assert [m.to_message() for m in stored] == originals
    assert stored[2].parent_id == ids[1] and stored[0].parent_id is None
    assert (stored[2].model, stored[2].input_tokens, stored[2].output_tokens, stored[2].cost) == (
        "m1",
        3,
        4,
        0.5,
    )
    assert stored[2].status == "complete" and stored[2].created > 0
    assert store.get_message(ids[3]).to_message() == originals[3]  # type: ignore[union-attr]
    assert store.get_message(10**9) is None


def test_add_message_validates(store: Store) -> None:
    s = store.create_session()
    with pytest.raises(SessionNotFoundError):
        store.add_message("nope", Message.user("x"))
    with pytest.raises(ValueError):
        store.add_message(s.id, Message.user("x"), status="bogus")  # type: ignore[arg-type]
    other = store.create_session()
    foreign = store.add_message(other.id, Message.user("x"))
    with pytest.raises(StoreError):
        store.add_message(s.id, Message.user("y"), parent_id=foreign)


def test_lazy_loading_newest_first_pages(store: Store) -> None:
    s = store.create_session()
    ids = [store.add_message(s.id, Message.user(f"m{i}")) for i in range(30)]
    page = store.messages(s.id, limit=10)
    assert [m.id for m in page] == ids[-10:]
    older = store.messages(s.id, limit=10, before_id=page[0].id)
    assert [m.id for m in older] == ids[10:20]
    assert [m.text for m in store.messages(s.id, limit=3, before_id=ids[2])] == ["m0", "m1"]


def test_branching_history_and_children(store: Store) -> None:
    s = store.create_session()
    u1 = store.add_message(s.id, Message.user("question"))
    a1 = store.add_message(s.id, Message.assistant("answer one"))
    a2 = store.add_message(s.id, Message.assistant("answer two"), parent_id=u1)  # regenerate
    u2 = store.add_message(s.id, Message.user("follow up"), parent_id=a1)
    root2 = store.add_message(s.id, Message.user("other start"), parent_id=ROOT)
    assert store.children(u1) == [a1, a2]
    assert [m.id for m in store.path_to(u2)] == [u1, a1, u2]
    assert [m.id for m in store.history(s.id, a2)] == [u1, a2]
    assert [m.id for m in store.history(s.id)] == [root2]  # newest leaf
    assert [m.id for m in store.history(s.id, u2, limit=2)] == [a1, u2]
    assert len(store.messages(s.id)) == 5
    other = store.create_session()
    with pytest.raises(StoreError):
        store.history(other.id, u2)
    assert store.history(other.id) == []


def test_streaming_reply_flushes_in_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.create_session()
    u = store.add_message(s.id, Message.user("hi"))
    r = store.begin_reply(s.id, u, "model-x")
    assert store.get_message(r).status == "streaming"  # type: ignore[union-attr]
    store.append_reply(r, "think ", thinking=True)
    store.append_reply(r, "Hello")
    assert store.get_message(r).parts == []  # type: ignore[union-attr]  # buffered: not yet 0.25 s or 16 KB
    store.append_reply(r, "x" * store_module.FLUSH_BYTES)  # size triggers a flush
    flushed = "Hello" + "x" * store_module.FLUSH_BYTES
    assert store.get_message(r).parts == [ThinkingPart("think "), TextPart(flushed)]  # type: ignore[union-attr]
    store.append_reply(r, " more")
    monkeypatch.setattr(store_module, "FLUSH_SECONDS", 0.0)  # time triggers a flush
    store.append_reply(r, "!")
    assert store.get_message(r).text.endswith(" more!")  # type: ignore[union-attr]
    final = [TextPart("Hello!"), ToolCall("c1", "t", {"a": 1})]
    store.finish_reply(r, final, "complete", input_tokens=5, output_tokens=7, cost=0.01)
    done = store.get_message(r)
    assert done and done.parts == final and done.status == "complete" and done.output_tokens == 7
    assert done.model == "model-x" and done.parent_id == u


def test_finish_reply_keeps_streamed_text_on_error(store: Store) -> None:
    s = store.create_session()
    r = store.begin_reply(s.id)
    store.append_reply(r, "partial")
    store.finish_reply(r, status="error", error="provider died")
    m = store.get_message(r)
    assert m and m.text == "partial" and m.status == "error" and m.error == "provider died"
    assert store.search("partial")[0].message_id == r


def test_close_marks_open_reply_interrupted(db_path: Path) -> None:
    with Store(db_path) as store:
        s = store.create_session()
        r = store.begin_reply(s.id)
        store.append_reply(r, "unfinished")
    with Store(db_path) as store:
        m = store.get_message(r)
        assert m and m.status == "interrupted" and m.text == "unfinished"


def test_reopen_leaves_a_live_stream_alone(db_path: Path) -> None:
    """Another Store (same process here; other processes are checked by pid) must not cut it off."""
    with Store(db_path) as writer:
        s = writer.create_session()
        r = writer.begin_reply(s.id)
        writer.append_reply(r, "still going")
        writer.flush_reply(r)
        with Store(db_path) as other:
            assert other.get_message(r).status == "streaming"  # type: ignore[union-attr]
        writer.append_reply(r, " and done")
        writer.finish_reply(r)
        assert writer.get_message(r).text == "still going and done"  # type: ignore[union-attr]


def test_reply_to_deleted_session_is_dropped(store: Store) -> None:
    s = store.create_session()
    r = store.begin_reply(s.id)
    store.append_reply(r, "text")
    store.delete(s.id)
    store.flush_reply(r)
    store.finish_reply(r)
    assert store.get_message(r) is None


def test_search_ranked_highlighted_and_titles(store: Store, db_path: Path) -> None:
    a = store.create_session("Kubernetes networking")
    b = store.create_session("Cooking")
    store.add_message(a.id, Message.user("How do pods talk to each other across nodes?"))
    store.add_message(b.id, Message.user("A recipe for bread with pods of vanilla. Pods pods pods."))
    store.add_message(b.id, Message.assistant("Use 500 g flour."))
    hits = store.search("pods")
    assert {h.session_id for h in hits} == {a.id, b.id}
    assert hits[0].session_id == b.id  # more occurrences rank higher
    assert "[pods]" in hits[0].snippet.lower() and hits[0].role == "user" and hits[0].message_id
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)
    title = store.search("kubernetes")
    assert title[0].message_id is None and title[0].snippet == "[Kubernetes] networking"
    assert store.search("talking", markers=("<b>", "</b>"))[0].snippet.count("<b>") == 1  # stemmed
    assert store.search("flo*")[0].session_id == b.id  # prefix
    assert store.search("pods nodes")[0].session_id == a.id  # all words required
    fts_consistent(db_path)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "AND",
        "OR NOT",
        "pods OR",
        "(",
        "a:b",
        "NEAR(x y",
        "*",
        "-pods",
        "^",
        "col:pods",
        "'",
        "\\",
        "",
        "   ",
        "\x00",
        "pods\x00nodes",
        "🙂",
        "a" * 5000,
        "x " * 2000,
    ],
)
def test_search_never_raises_on_fts_syntax(store: Store, query: str) -> None:
    s = store.create_session()
    store.add_message(s.id, Message.user("pods and nodes"))
    assert isinstance(store.search(query), list)


def test_search_follows_rename_delete_and_updates(store: Store, db_path: Path) -> None:
    s = store.create_session("alpha title")
    store.add_message(s.id, Message.user("zebra crossing"))
    r = store.begin_reply(s.id)
    store.append_reply(r, "giraffe")
    store.flush_reply(r)
    assert store.get_message(r).text == "giraffe"  # type: ignore[union-attr]  # indexed when it ends
    store.finish_reply(r, [TextPart("okapi")])
    assert not store.search("giraffe") and store.search("okapi")
    store.rename(s.id, "beta title")
    assert not store.search("alpha") and store.search("beta")[0].session_id == s.id
    store.delete(s.id)
    for word in ("beta", "zebra", "okapi"):
        assert store.search(word) == []
    fts_consistent(db_path)
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM parts").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_fork_copies_branch(store: Store) -> None:
    s = store.create_session("Original", "m", "sys", {"t": 1})
    ids = [store.add_message(s.id, m) for m in every_part_messages()]
    store.add_message(s.id, Message.assistant("alternative"), parent_id=ids[1])
    forked = store.fork(s.id, ids[3])
    assert forked.id != s.id and forked.title == "Original (fork)" and forked.system == "sys"
    copied = store.history(forked.id)
    assert [m.to_message() for m in copied] == every_part_messages()[:4]
    assert [m.parent_id for m in copied[1:]] == [m.id for m in copied[:-1]]
    assert len(store.messages(s.id)) == 7  # the original is untouched
    with pytest.raises(SessionNotFoundError):
        store.fork("missing", ids[0])


def test_cache(store: Store) -> None:
    key = cache_key({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0})
    assert key == cache_key({"temperature": 0, "messages": [{"content": "hi", "role": "user"}], "model": "m"})
    assert store.cache_get(key) is None
    store.cache_put(key, {"text": "hello", "tokens": 3})
    assert store.cache_get(key) == {"text": "hello", "tokens": 3}
    store.cache_put(key, {"text": "again"})
    assert store.cache_get(key) == {"text": "again"}


def test_calls_are_cheap(store: Store) -> None:
    s = store.create_session()
    started = time.perf_counter()
    for i in range(200):
        store.add_message(s.id, Message.user(f"message {i}"))
    assert (time.perf_counter() - started) / 200 < 0.01


def test_search_lists_newest_first_when_a_query_is_very_common(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "SEARCH_WINDOW", 3)
    s = store.create_session("common things")
    ids = [store.add_message(s.id, Message.user(f"common {'word ' * i}")) for i in range(1, 6)]
    hits = store.search("common", limit=4)
    assert hits[0].message_id is None  # the title first
    assert [h.message_id for h in hits[1:]] == ids[::-1][:3]
    assert [h.message_id for h in store.search("word")][:3] == ids[::-1][:3]


def written_bytes() -> int:
    """Bytes this process has passed to write calls so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's /proc/self/io")
def test_saving_a_long_reply_writes_in_proportion_to_its_length(store: Store) -> None:
    """Each save appends what arrived; rewriting the whole reply every time grew with the square."""
    text = " ".join(f"word{i}" for i in range(40_000))  # ~350 KB in 64-character deltas
    s = store.create_session()
    r = store.begin_reply(s.id, store.add_message(s.id, Message.user("hi")))
    before = written_bytes()
    for i in range(0, len(text), 64):
        store.append_reply(r, text[i : i + 64])
    store.finish_reply(r)
    written = written_bytes() - before
    assert store.get_message(r).text == text  # type: ignore[union-attr]
    assert written < 15 * len(text), f"{written:,} bytes written for a {len(text):,}-character reply"
