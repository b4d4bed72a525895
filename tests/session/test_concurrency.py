"""Several processes on one database, and a writer killed mid-stream."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO
from ttt.core.session.store import Store
from ttt.core.types import Message

PRELUDE = (
    f"import json, sys, time\nsys.path.insert(0, {str(REPO)!r})\nfrom ttt.core.session.store import Store\n"
)

WRITER = (
    PRELUDE
    + """
from ttt.core.types import Message, TextPart
path, start, seconds, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
while time.time() < start:
    time.sleep(0.001)
store = Store(path)  # every process races to create and migrate the same new file
written = 0
session = store.create_session(name)
while time.time() < start + seconds:
    if written % 20 == 0:
        session = store.create_session(f"{name} {written}")
    user = store.add_message(session.id, Message.user(f"{name} asks question {written}"))
    reply = store.begin_reply(session.id, user, "test-model")
    for i in range(4):
        store.append_reply(reply, f"chunk {i} " * 100)
    store.finish_reply(reply, [TextPart(f"{name} answer {written}")], "complete", output_tokens=3)
    store.rename(session.id, f"{name} renamed {written}")
    written += 2
store.close()
print(json.dumps({"written": written}))
"""
)

READER = (
    PRELUDE
    + """
path, start, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
while time.time() < start:
    time.sleep(0.001)
time.sleep(0.2)  # let a writer create the file first
store = Store(path)
reads = 0
while time.time() < start + seconds:
    for session in store.list_sessions(limit=20):
        store.messages(session.id, limit=50)
        store.history(session.id)
    store.search("answer")
    store.search("question renamed")
    reads += 1
store.close()
print(json.dumps({"reads": reads}))
"""
)


def test_concurrent_writers_and_reader_never_see_locked(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    start, seconds = time.time() + 1.5, 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start), str(seconds), f"writer{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, "-c", READER, str(path), str(start), str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "locked" not in err, err
        results.append(json.loads(out))
    written = sum(r.get("written", 0) for r in results)
    assert written > 40 and results[-1]["reads"] > 3
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == written
    assert db.execute("SELECT count(*) FROM messages WHERE status != 'complete'").fetchone()[0] == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.execute("INSERT INTO parts_fts(parts_fts, rank) VALUES ('integrity-check', 1)")


def test_threads_share_one_store(store: Store) -> None:
    sessions = [store.create_session(f"t{i}") for i in range(4)]
    errors: list[BaseException] = []

    def work(session_id: str) -> None:
        try:
            for i in range(50):
                reply = store.begin_reply(session_id, store.add_message(session_id, Message.user(str(i))))
                store.append_reply(reply, "x")
                store.finish_reply(reply)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s.id,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(len(store.messages(s.id)) == 100 for s in sessions)


KILLED = (
    PRELUDE
    + """
from ttt.core.types import Message
store = Store(sys.argv[1])
session = store.create_session("doomed")
earlier = []
for i in range(3):
    earlier.append(store.add_message(session.id, Message.user(f"question {i}")))
    earlier.append(store.add_message(session.id, Message.assistant(f"answer {i}")))
reply = store.begin_reply(session.id, earlier[-1], "m")
print(json.dumps({"session": session.id, "earlier": earlier, "reply": reply}), flush=True)
i = 0
while True:
    store.append_reply(reply, f"w{i} ")
    i += 1
    time.sleep(0.0005)
"""
)


def test_sigkill_mid_stream_keeps_everything_before(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ids = json.loads(proc.stdout.readline())
        time.sleep(0.8)
        with Store(path) as other:  # a second process opening now must not cut the live stream off
            live = other.get_message(ids["reply"])
            assert live is not None and live.status == "streaming" and live.text.startswith("w0 w1 ")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Store(path) as store:
        messages = store.messages(ids["session"])
        assert [m.id for m in messages[:-1]] == ids["earlier"]
        assert [m.text for m in messages[:-1]] == [
            f"{k} {i}" for i in range(3) for k in ("question", "answer")
        ]
        assert all(m.status == "complete" for m in messages[:-1])
        reply = messages[-1]
        assert reply.id == ids["reply"] and reply.status == "interrupted"
        words = reply.text.split()
        assert len(words) > 20 and words == [f"w{i}" for i in range(len(words))]
        assert store.search(words[-1])  # the partial text is searchable too
    db = sqlite3.connect(path)
    db.execute("INSERT INTO parts_fts(parts_fts, rank) VALUES ('integrity-check', 1)")
