"""Ordered schema migrations keyed on ``PRAGMA user_version``.

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the version bump,
so a crash or a failing statement leaves the previous schema intact, and two processes opening
a fresh database at once can't both apply it. To change the schema, append a ``Migration`` with
the next version; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ttt.core.errors import SchemaTooNewError

APPLICATION_ID = 0x74747400  # "ttt\0" in the header, so other programs' databases are recognised


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_FTS_TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"

V1 = Migration(
    1,
    "sessions, messages, parts, full-text search, response cache",
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            system TEXT NOT NULL DEFAULT '',
            params TEXT NOT NULL DEFAULT '{}',
            created REAL NOT NULL,
            updated REAL NOT NULL,
            archived INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX sessions_by_updated ON sessions(updated)",
        # writer_pid: the process streaming a reply, so another process opening the store can
        # tell a live stream from one whose writer was killed
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            model TEXT NOT NULL DEFAULT '',
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL,
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'interrupted', 'error', 'stopped')),
            error TEXT,
            writer_pid INTEGER,
            created REAL NOT NULL
        )""",
        "CREATE INDEX messages_by_session ON messages(session_id, id)",
        "CREATE INDEX messages_by_parent ON messages(parent_id)",  # cascades and branch lookups
        "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
        """CREATE TABLE parts (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            UNIQUE (message_id, seq)
        )""",
        # the search index reads text through this view (external content): stored once, and
        # the triggers below keep it exact through updates, deletes and cascades
        "CREATE VIEW part_text(id, text) AS "
        "SELECT id, json_extract(data, '$.text') FROM parts WHERE type = 'text'",
        f"CREATE VIRTUAL TABLE parts_fts USING fts5(text, content = 'part_text', content_rowid = 'id', "
        f"{_FTS_TOKENIZER})",
        """CREATE TRIGGER parts_fts_insert AFTER INSERT ON parts WHEN new.type = 'text' BEGIN
            INSERT INTO parts_fts(rowid, text) VALUES (new.id, json_extract(new.data, '$.text'));
        END""",
        """CREATE TRIGGER parts_fts_delete AFTER DELETE ON parts WHEN old.type = 'text' BEGIN
            INSERT INTO parts_fts(parts_fts, rowid, text)
                VALUES ('delete', old.id, json_extract(old.data, '$.text'));
        END""",
        """CREATE TRIGGER parts_fts_update AFTER UPDATE ON parts BEGIN
            INSERT INTO parts_fts(parts_fts, rowid, text)
                SELECT 'delete', old.id, json_extract(old.data, '$.text') WHERE old.type = 'text';
            INSERT INTO parts_fts(rowid, text)
                SELECT new.id, json_extract(new.data, '$.text') WHERE new.type = 'text';
        END""",
        # titles are few, so a self-contained index keyed by session id is simplest
        f"CREATE VIRTUAL TABLE sessions_fts USING fts5(title, session_id UNINDEXED, {_FTS_TOKENIZER})",
        """CREATE TRIGGER sessions_fts_insert AFTER INSERT ON sessions BEGIN
            INSERT INTO sessions_fts(title, session_id) VALUES (new.title, new.id);
        END""",
        """CREATE TRIGGER sessions_fts_update AFTER UPDATE OF title ON sessions BEGIN
            DELETE FROM sessions_fts WHERE session_id = old.id;
            INSERT INTO sessions_fts(title, session_id) VALUES (new.title, new.id);
        END""",
        """CREATE TRIGGER sessions_fts_delete AFTER DELETE ON sessions BEGIN
            DELETE FROM sessions_fts WHERE session_id = old.id;
        END""",
        "CREATE TABLE response_cache (key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL)",
    ),
)

V2 = Migration(
    2,
    "metrics: one row per backend request and per tool call (ttt.core.metrics)",
    (
        """CREATE TABLE metric_requests (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,
            backend TEXT NOT NULL,
            model TEXT NOT NULL,
            seconds REAL NOT NULL,
            ttft REAL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost REAL,
            error TEXT
        )""",
        "CREATE INDEX metric_requests_by_created ON metric_requests(created)",
        """CREATE TABLE metric_tool_calls (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,
            name TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            seconds REAL NOT NULL,
            outcome TEXT NOT NULL
        )""",
        "CREATE INDEX metric_tool_calls_by_created ON metric_tool_calls(created)",
    ),
)

V3 = Migration(
    3,
    "reply_chunks: a streaming reply's text, appended as it arrives (ttt.core.session.replies)",
    (
        """CREATE TABLE reply_chunks (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('text', 'thinking')),
            text TEXT NOT NULL
        )""",
        "CREATE INDEX reply_chunks_by_message ON reply_chunks(message_id, id)",
    ),
)

V4 = Migration(
    4,
    "sessions.leaf_id: the branch a session shows and continues (ttt.core.session.branches)",
    # no foreign key: a leaf that is gone (never, today) reads as "the newest message"
    ("ALTER TABLE sessions ADD COLUMN leaf_id INTEGER",),
)

MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4)
LATEST = MIGRATIONS[-1].version


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring ``db`` (autocommit mode) up to the last of ``migrations``; returns the new version.

    Raises ``SchemaTooNewError`` before changing anything if the file is ahead of us.
    """
    latest = migrations[-1].version if migrations else 0
    for migration in migrations:
        if user_version(db) >= migration.version:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            current = user_version(db)  # re-read under the write lock: another process may have won
            if current > latest:
                raise SchemaTooNewError(current, latest)
            if current < migration.version:
                if current != migration.version - 1:
                    raise RuntimeError(f"migration {migration.version} needs version {migration.version - 1}")
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {int(migration.version)}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    found = user_version(db)
    if found > latest:
        raise SchemaTooNewError(found, latest)
    return found
