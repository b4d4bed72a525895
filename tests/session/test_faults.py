"""Files the store can't use: each gets an error naming the file, and the file is left as it was."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from ttt.core.errors import SessionFileError
from ttt.core.session import store as store_module
from ttt.core.session.migrations import LATEST
from ttt.core.session.serialize import import_session, save_session
from ttt.core.session.store import Store, StoreError
from ttt.core.types import Message

from .conftest import digest, every_part_messages


def assert_refused(path: Path, *words: str) -> StoreError:
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert digest(path) == before
    return caught.value


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "ttt.db"
    path.write_bytes(os.urandom(64 * 1024))
    assert_refused(path, "not an SQLite database")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "ttt.db"
    path.write_text("these are my notes, not a database\n" * 200)
    assert_refused(path, "not an SQLite database")


def test_directory_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "ttt.db").mkdir()
    with pytest.raises(StoreError, match="not a file"):
        Store(tmp_path / "ttt.db")


def test_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "ttt.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.commit()
    db.close()
    assert_refused(path, "another program")


def test_future_schema(tmp_path: Path) -> None:
    path = tmp_path / "ttt.db"
    with Store(path) as store:
        store.create_session("from the future")
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST + 1}")
    db.commit()
    db.close()
    error = assert_refused(path, "newer ttt", f"schema version {LATEST + 1}")
    assert error.exit_code == 1 and error.title


def test_damaged_pages(tmp_path: Path) -> None:
    """A valid header over garbage: refused on open or on first use, never 'repaired'."""
    path = tmp_path / "ttt.db"
    with Store(path) as store:
        s = store.create_session()
        for i in range(300):
            store.add_message(s.id, Message.user(f"message number {i} " * 20))
    data = bytearray(path.read_bytes())
    data[8192:] = os.urandom(len(data) - 8192)
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(StoreError) as caught, Store(path) as store:
        store.messages(s.id)
        store.search("message")
    assert str(path) in str(caught.value)
    assert digest(path) == before


# --- read-only locations ----------------------------------------------------------------------
# Root ignores file permissions, so under root the check runs in a child process that has
# dropped to 'nobody' with setpriv; as any other user it runs the same child unchanged.

CHILD = """
import json, sys
sys.path.insert(0, {repo!r})
from ttt.core.session.store import Store, StoreError
try:
    Store({path!r}).close()
    print(json.dumps({{"ok": True}}))
except StoreError as exc:
    print(json.dumps({{"ok": False, "error": str(exc)}}))
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's private (0700) temp tree, so an unprivileged child can reach it."""
    path = Path(tempfile.mkdtemp(prefix="ttt-ro-"))
    path.chmod(0o755)
    # The child imports ttt from here: the checkout itself may sit in a folder 'nobody' can't read.
    shutil.copytree(REPO / "ttt", path / "code" / "ttt", ignore=shutil.ignore_patterns("__pycache__"))
    for sub in (path / "code").rglob("*"):
        sub.chmod(0o755 if sub.is_dir() else 0o644)
    (path / "code").chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:
        sub.chmod(0o755 if sub.is_dir() else 0o644)
    shutil.rmtree(path)


def open_unprivileged(path: Path, shared: Path) -> dict[str, object]:
    command = [sys.executable, "-c", CHILD.format(repo=str(shared / "code"), path=str(path))]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: can't drop privileges to see a read-only folder")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_read_only_folder_new_database(shared_dir: Path) -> None:
    data = shared_dir / "data"
    data.mkdir()
    data.chmod(0o555)
    result = open_unprivileged(data / "ttt.db", shared_dir)
    assert result["ok"] is False and str(data / "ttt.db") in str(result["error"])
    assert "read-only" in str(result["error"])
    assert not (data / "ttt.db").exists()


def test_read_only_folder_missing_data_dir(shared_dir: Path) -> None:
    shared_dir.chmod(0o555)
    result = open_unprivileged(shared_dir / "data" / "ttt.db", shared_dir)
    assert result["ok"] is False and str(shared_dir / "data" / "ttt.db") in str(result["error"])


@pytest.mark.parametrize("dir_writable", [False, True], ids=["read-only-folder", "read-only-file"])
def test_read_only_existing_database(shared_dir: Path, dir_writable: bool) -> None:
    path = shared_dir / "ttt.db"
    with Store(path) as store:
        s = store.create_session("kept")
        store.add_message(s.id, Message.user("safe"))
    path.chmod(0o444)
    shared_dir.chmod(0o777 if dir_writable else 0o555)
    before = digest(path)
    result = open_unprivileged(path, shared_dir)
    assert result["ok"] is False and str(path) in str(result["error"])
    assert "read-only" in str(result["error"])
    assert digest(path) == before
    with Store(path) as store:  # the owner still has everything
        assert store.messages(s.id)[0].text == "safe"


# --- imports ------------------------------------------------------------------------------------


def stored_counts(store: Store) -> tuple[int, int, int]:
    db = store._db
    return tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sessions", "messages", "parts")
    )  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("\udcff", "not UTF-8"),
        ('{"format": "something-else", "version": 1}', "not a ttt session file"),
        ('{"format": "ttt-session", "version": 99, "session": {}, "messages": []}', "version 99"),
        ('{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": {}}', "messages"),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": [{"role": "user"}]}',
            "parts",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": '
            '[{"id": 1, "role": "user", "parts": [{"type": "video", "url": "x"}]}]}',
            "unknown part type",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": '
            '[{"id": 2, "parent_id": 1, "role": "user", "parts": []}]}',
            "before its parent",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": '
            '[{"id": 1, "role": "user", "parts": [{"type": "text", "text": 5}]}]}',
            "wrong type",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": '
            '[{"id": 1, "role": "user", "parts": []}, {"id": 1, "role": "user", "parts": []}]}',
            "appears twice",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a", "params": ' + "[" * 100_000,
            "nested",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a", "params": {"x": '
            + "[" * 150
            + "]" * 150
            + '}}, "messages": []}',
            "nested more than 100 levels",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a", "created": NaN}, "messages": []}',
            "NaN",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a", "updated": 1e400}, "messages": []}',
            "out of range",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": '
            '[{"id": 1, "role": "user", "parts": [], "output_tokens": 100000000000000000000000}]}',
            "'output_tokens' is out of range",
        ),
        (
            '{"format": "ttt-session", "version": 1, "session": {"id": "a"}, "messages": [], "n": '
            + "9" * 5000
            + "}",
            "digits",
        ),
    ],
    ids=[
        "malformed",
        "binary",
        "other-format",
        "future-version",
        "no-list",
        "no-parts",
        "bad-part",
        "orphan",
        "bad-type",
        "duplicate-id",
        "deep-nesting",
        "nesting-past-limit",
        "nan",
        "infinity",
        "huge-int",
        "long-int",
    ],
)
def test_bad_import_names_file_and_stores_nothing(
    store: Store, tmp_path: Path, content: str, expected: str
) -> None:
    s = store.create_session("existing")
    store.add_message(s.id, Message.user("keep me"))
    path = tmp_path / "in.json"
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        path.write_text(content)
    before = stored_counts(store)
    with pytest.raises(SessionFileError) as caught:
        import_session(store, path)
    assert str(path) in str(caught.value) and expected in str(caught.value)
    assert stored_counts(store) == before


def test_import_is_one_transaction(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = store.create_session("source")
    for m in every_part_messages():
        store.add_message(s.id, m)
    path = tmp_path / "s.json"
    save_session(path, store.get_session(s.id), store.messages(s.id))  # type: ignore[arg-type]
    before = stored_counts(store)
    real, calls = store_module._insert_parts, []

    def failing(db: sqlite3.Connection, message_id: int, parts: list) -> None:
        calls.append(message_id)
        if len(calls) == 4:
            raise sqlite3.OperationalError("disk I/O error")
        real(db, message_id, parts)

    monkeypatch.setattr(store_module, "_insert_parts", failing)
    with pytest.raises(StoreError):
        import_session(store, path)
    assert stored_counts(store) == before
