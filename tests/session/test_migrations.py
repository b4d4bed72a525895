"""Each migration applied to the schema before it, atomically, and how a future schema is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ttt.core.errors import SchemaTooNewError
from ttt.core.session.migrations import (
    APPLICATION_ID,
    LATEST,
    MIGRATIONS,
    Migration,
    migrate,
    user_version,
)
from ttt.core.session.store import Store
from ttt.core.types import Message


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def schema(db: sqlite3.Connection) -> set[tuple[str, str]]:
    """Tables, indexes, views and triggers by name, and every table's columns."""
    objects = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    columns = db.execute(
        "SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table'"
    ).fetchall()
    return {(t, n) for t, n in objects} | {("column", c) for (c,) in columns}


@pytest.mark.parametrize("index", range(len(MIGRATIONS)), ids=[f"v{m.version}" for m in MIGRATIONS])
def test_each_migration_from_the_previous_schema(tmp_path: Path, index: int) -> None:
    db = connect(tmp_path / "m.db")
    migrate(db, MIGRATIONS[:index])
    assert user_version(db) == index
    before = schema(db)
    assert migrate(db, MIGRATIONS[: index + 1]) == MIGRATIONS[index].version
    assert schema(db) > before
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert migrate(db, MIGRATIONS[: index + 1]) == MIGRATIONS[index].version  # idempotent


def test_v1_schema(tmp_path: Path) -> None:
    db = connect(tmp_path / "m.db")
    migrate(db, MIGRATIONS[:1])
    names = {name for _, name in schema(db)}
    for name in (
        "sessions",
        "messages",
        "parts",
        "parts_fts",
        "sessions_fts",
        "response_cache",
        "sessions_by_updated",
        "messages_by_session",
        "messages_by_parent",
    ):
        assert name in names
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    plan = " ".join(
        r[3] for r in db.execute("EXPLAIN QUERY PLAN SELECT id FROM sessions ORDER BY updated DESC")
    )
    assert "sessions_by_updated" in plan
    plan = " ".join(
        r[3]
        for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE session_id = 'x' ORDER BY id DESC"
        )
    )
    assert "messages_by_session" in plan


def test_a_later_migration_keeps_existing_data(tmp_path: Path) -> None:
    """How v2 (metrics) will be added: append a Migration; v1 data survives."""
    path = tmp_path / "m.db"
    with Store(path) as store:
        s = store.create_session("kept")
        store.add_message(s.id, Message.user("still here"))
    v2 = Migration(
        LATEST + 1, "metrics", ("CREATE TABLE metrics (id INTEGER PRIMARY KEY, name TEXT, value REAL)",)
    )
    db = connect(path)
    assert migrate(db, (*MIGRATIONS, v2)) == LATEST + 1
    assert db.execute("SELECT title FROM sessions").fetchone()[0] == "kept"
    assert db.execute("SELECT count(*) FROM parts_fts WHERE parts_fts MATCH 'still'").fetchone()[0] == 1


def test_failing_migration_changes_nothing(tmp_path: Path) -> None:
    db = connect(tmp_path / "m.db")
    migrate(db)
    before = schema(db)
    broken = Migration(LATEST + 1, "broken", ("CREATE TABLE new_one (a)", "THIS IS NOT SQL"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, (*MIGRATIONS, broken))
    assert user_version(db) == LATEST and schema(db) == before and not db.in_transaction


def test_future_version_refused_before_any_change(tmp_path: Path) -> None:
    db = connect(tmp_path / "m.db")
    migrate(db)
    db.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(SchemaTooNewError) as caught:
        migrate(db)
    assert (caught.value.found, caught.value.latest) == (LATEST + 1, LATEST)
