"""The SQLite session store: every conversation, written as it happens.

One WAL-mode file shared by the TUI and any number of ``ttt -p`` processes. Writes are tiny
``BEGIN IMMEDIATE`` transactions retried on lock contention, so "database is locked" never reaches
a user. A reply is written while it streams (batched), so a killed process loses at most the
last fraction of a second; the next open marks it ``interrupted`` and keeps its text. A file we
can't use (not SQLite, damaged, read-only, from a newer ttt) gets a ``StoreError`` naming it and
is never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from ttt.core.errors import AIError
from ttt.core.session.migrations import APPLICATION_ID, LATEST, SchemaTooNewError, migrate
from ttt.core.session.serialize import ROLES, STATUSES, SessionRecord, Status, StoredMessage
from ttt.core.session.serialize import part_from_dict as _part
from ttt.core.session.serialize import part_to_dict as _part_dict
from ttt.core.types import Message, Part, Role, TextPart, ThinkingPart

__all__ = [
    "ROOT",
    "SearchHit",
    "SessionNotFoundError",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoredMessage",
]

T = TypeVar("T")
ROOT: Final = 0  # parent_id that starts a new root branch; None means "after the newest message"
BUSY_TIMEOUT_MS = 5000
RETRY_SECONDS = 30.0  # retrying on top of SQLite's own busy wait, before a lock becomes an error
FLUSH_SECONDS = 0.25
FLUSH_BYTES = 2048
SEARCH_WINDOW = 1000  # a query matching more messages lists the newest first (bm25 would count them all)
_LIVE: set[tuple[str, int]] = set()  # (database, message id) streaming in this process, any Store
# StoredMessage's fields in order, parts aside
_MESSAGE = "id, session_id, role, parent_id, model, input_tokens, output_tokens, cost, status, error, created"
_SESSION = (
    "id, title, model, system, params, created, updated, archived, "
    "(SELECT count(*) FROM messages m WHERE m.session_id = sessions.id)"
)
_REASONS = {  # by SQLite primary result code
    5: "another process kept it locked too long; try again",
    6: "another process kept it locked too long; try again",
    8: "the file or its folder is read-only; ttt needs to write there",
    11: "the database is damaged; it was left untouched — move it away to start afresh",
    13: "the disk is full",
    14: "the file can't be created or opened",
    26: "it is not an SQLite database (or is encrypted); it was left untouched",
}


class StoreError(AIError):
    title = "Session store error"
    exit_code = 1

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class SessionNotFoundError(StoreError):
    title = "Session not found"


@dataclass
class SearchHit:
    """A match in a message, or in a session title (``message_id`` None). Lower rank is better."""

    session_id: str
    title: str
    message_id: int | None
    role: str
    snippet: str
    rank: float
    archived: bool


@dataclass
class _Reply:
    """A streaming reply: parts as chunk lists (cheap appends); ``dirty`` = indexes not yet written."""

    parts: list[tuple[type[TextPart | ThinkingPart], list[str]]] = field(default_factory=list)
    dirty: set[int] = field(default_factory=set)
    pending: int = 0
    flushed_at: float = field(default_factory=time.monotonic)


class Store:
    """All sessions in one SQLite file; thread-safe, every call one short transaction."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._key = str(self.path.absolute())
        self._lock = threading.RLock()
        self._replies: dict[int, _Reply] = {}
        if self.path.exists() and not self.path.is_file():
            raise self._fail("it is not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except OSError as exc:
            raise self._fail(f"can't create its folder ({exc.strerror or exc})") from None
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self._retry(self._setup)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def default(cls) -> Store:
        """The database under ``paths().data_dir`` (``TTT_HOME`` relocates it)."""
        from ttt.core.config import paths

        return cls(paths().database)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Save any unfinished reply as interrupted, then close."""
        with self._lock:
            try:
                for reply_id in list(self._replies):
                    self.finish_reply(reply_id, status="interrupted")
            finally:
                self._db.close()

    # --- opening and transactions ----------------------------------------------------------

    def _setup(self) -> None:
        """Identify the file before anything writes to it; then WAL, migrations, recovery."""
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version, app_id, objects = self._one(  # one snapshot, so a concurrent first open can't confuse it
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT application_id FROM pragma_application_id), (SELECT count(*) FROM sqlite_master)"
        )
        if version > LATEST:
            raise self._too_new(version)
        if app_id not in (0, APPLICATION_ID) or (version == 0 and objects):
            raise self._fail("it is an SQLite database of another program; it was left untouched")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise self._fail("its file system can't hold a WAL-mode database")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes, fast in WAL
        try:
            migrate(db)
        except SchemaTooNewError as exc:
            raise self._too_new(exc.found) from None
        self._write(self._recover)

    def _recover(self, db: sqlite3.Connection) -> None:
        """Mark replies whose writer process is gone as interrupted (their text stays)."""
        db.execute("DELETE FROM response_cache WHERE 0")  # a real write attempt: read-only fails here
        rows = db.execute("SELECT id, writer_pid FROM messages WHERE status = 'streaming'").fetchall()
        dead = [(i,) for i, pid in rows if not self._writer_alive(i, pid)]
        db.executemany("UPDATE messages SET status = 'interrupted', writer_pid = NULL WHERE id = ?", dead)

    def _writer_alive(self, message_id: int, pid: int | None) -> bool:
        if pid == os.getpid():
            return (self._key, message_id) in _LIVE
        return pid is not None and _process_alive(pid)

    def _fail(self, reason: str) -> StoreError:
        return StoreError(
            f"Cannot use the session database {self.path}: {reason}. "
            "Set TTT_HOME to use another folder if it must stay as it is.",
            path=self.path,
        )

    def _too_new(self, version: int) -> StoreError:
        return self._fail(
            f"it was created by a newer ttt (schema version {version}; this ttt knows up to {LATEST}) "
            "and was left untouched — upgrade ttt"
        )

    def _error(self, exc: sqlite3.Error) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        reason = _REASONS.get(code, "SQLite failed")
        if code == 14 and not os.access(self.path.parent, os.W_OK):
            reason += "; its folder is read-only"
        return self._fail(f"{reason} ({exc})")

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying while another process holds the lock; other errors name the file."""
        deadline, delay = time.monotonic() + RETRY_SECONDS, 0.005
        while True:
            try:
                return fn()
            except sqlite3.Error as exc:
                code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                if code not in (5, 6) or time.monotonic() > deadline:
                    raise self._error(exc) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        def attempt() -> T:
            self._db.execute(begin)
            try:
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

        with self._lock:
            return self._retry(attempt)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._transaction(fn, "BEGIN IMMEDIATE")  # the write lock up front: no upgrade deadlock

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._transaction(fn, "BEGIN")

    def _all(self, sql: str, *args: Any) -> list[Any]:
        return self._read(lambda db: db.execute(sql, args).fetchall())

    def _one(self, sql: str, *args: Any) -> Any:
        return self._read(lambda db: db.execute(sql, args).fetchone())

    def _change_session(self, sql: str, *args: Any) -> None:
        """One statement whose last argument is a session id; a missing session is an error."""

        def run(db: sqlite3.Connection) -> None:
            if db.execute(sql, args).rowcount == 0:
                raise SessionNotFoundError(f"No session {args[-1]!r}")

        self._write(run)

    # --- sessions --------------------------------------------------------------------------

    def create_session(
        self, title: str = "", model: str = "", system: str = "", params: dict[str, Any] | None = None
    ) -> SessionRecord:
        now = time.time()
        record = SessionRecord(secrets.token_hex(6), title, model, system, dict(params or {}), now, now)
        self._write(lambda db: _insert_session(db, record))
        return record

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self._one(f"SELECT {_SESSION} FROM sessions WHERE id = ?", session_id)
        return _session(row) if row else None

    def resolve(self, prefix: str) -> str:
        """The one session id starting with ``prefix`` (what a user types for ``show ID``)."""
        sql = "SELECT id FROM sessions WHERE id = ? OR id GLOB ? ORDER BY id != ? LIMIT 2"
        valid = re.fullmatch(r"[A-Za-z0-9_-]+", prefix)
        ids = [r[0] for r in self._all(sql, prefix, prefix + "*", prefix)] if valid else []
        if not ids:
            raise SessionNotFoundError(f"No session {prefix!r}; `ttt sessions list` shows them")
        if ids[0] != prefix and len(ids) > 1:
            raise StoreError(f"{prefix!r} matches several sessions ({', '.join(ids)}, …); type more of it")
        return str(ids[0])

    def list_sessions(
        self, limit: int = 50, offset: int = 0, include_archived: bool = False
    ) -> list[SessionRecord]:
        """Most recent activity first."""
        where = "" if include_archived else "WHERE archived = 0"
        sql = f"SELECT {_SESSION} FROM sessions {where} ORDER BY updated DESC LIMIT ? OFFSET ?"
        return [_session(r) for r in self._all(sql, limit, offset)]

    def latest_session(self, include_archived: bool = False) -> SessionRecord | None:
        found = self.list_sessions(1, 0, include_archived)
        return found[0] if found else None

    def rename(self, session_id: str, title: str) -> None:
        self._change_session("UPDATE sessions SET title = ? WHERE id = ?", title, session_id)

    def set_model(self, session_id: str, model: str) -> None:
        self._change_session("UPDATE sessions SET model = ? WHERE id = ?", model, session_id)

    def set_system(self, session_id: str, system: str) -> None:
        self._change_session("UPDATE sessions SET system = ? WHERE id = ?", system, session_id)

    def set_params(self, session_id: str, params: dict[str, Any]) -> None:
        self._change_session("UPDATE sessions SET params = ? WHERE id = ?", _dumps(params), session_id)

    def archive(self, session_id: str, archived: bool = True) -> None:
        self._change_session("UPDATE sessions SET archived = ? WHERE id = ?", int(archived), session_id)

    def unarchive(self, session_id: str) -> None:
        self.archive(session_id, False)

    def delete(self, session_id: str) -> None:
        """Gone for good: messages, parts and search entries cascade with it."""
        self._change_session("DELETE FROM sessions WHERE id = ?", session_id)

    # --- messages --------------------------------------------------------------------------

    def add_message(
        self,
        session_id: str,
        message: Message,
        parent_id: int | None = None,
        *,
        model: str = "",
        status: Status = "complete",
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: float | None = None,
    ) -> int:
        """Store a whole message; ``parent_id`` None follows the newest message, ``ROOT`` starts a branch."""
        if message.role not in ROLES or status not in STATUSES:
            raise ValueError(f"bad role {message.role!r} or status {status!r}")
        values = (model, input_tokens, output_tokens, cost, status, error, None)

        def run(db: sqlite3.Connection) -> int:
            new_id = _insert_message(db, session_id, _parent(db, session_id, parent_id), message.role, values)
            _insert_parts(db, new_id, message.parts)
            return new_id

        return self._write(run)

    def begin_reply(self, session_id: str, parent_id: int | None = None, model: str = "") -> int:
        """Start a streaming assistant message: ``append_reply`` feeds it, ``finish_reply`` ends it."""
        values = (model, 0, 0, None, "streaming", None, os.getpid())
        with self._lock:
            reply_id = self._write(
                lambda db: _insert_message(
                    db, session_id, _parent(db, session_id, parent_id), "assistant", values
                )
            )
            self._replies[reply_id] = _Reply()
            _LIVE.add((self._key, reply_id))
        return reply_id

    def append_reply(self, reply_id: int, delta: str, *, thinking: bool = False) -> None:
        """Buffer a delta; it is written within ``FLUSH_SECONDS`` or ``FLUSH_BYTES``."""
        kind = ThinkingPart if thinking else TextPart
        with self._lock:
            reply = self._replies[reply_id]
            if not reply.parts or reply.parts[-1][0] is not kind:
                reply.parts.append((kind, []))
            reply.parts[-1][1].append(delta)
            reply.dirty.add(len(reply.parts) - 1)
            reply.pending += len(delta)
            if reply.pending >= FLUSH_BYTES or time.monotonic() - reply.flushed_at >= FLUSH_SECONDS:
                self.flush_reply(reply_id)

    def flush_reply(self, reply_id: int) -> None:
        """Write what has streamed so far (``append_reply`` does this on its own)."""
        with self._lock:
            reply = self._replies[reply_id]
            parts = {seq: _built(reply, seq) for seq in sorted(reply.dirty)}
            rows = [(reply_id, seq, p.type, _dumps(_part_dict(p))) for seq, p in parts.items()]

            def run(db: sqlite3.Connection) -> None:
                if db.execute("SELECT 1 FROM messages WHERE id = ?", (reply_id,)).fetchone():  # else: deleted
                    db.executemany(
                        "INSERT INTO parts(message_id, seq, type, data) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(message_id, seq) DO UPDATE SET data = excluded.data",
                        rows,
                    )

            self._write(run)
            reply.dirty.clear()
            reply.pending, reply.flushed_at = 0, time.monotonic()

    def finish_reply(
        self,
        reply_id: int,
        parts: list[Part] | None = None,
        status: Status = "complete",
        error: str | None = None,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: float | None = None,
    ) -> None:
        """Set the final parts (None keeps what streamed) and status; a deleted session is a no-op."""
        if status not in STATUSES or status == "streaming":
            raise ValueError(f"bad final status {status!r}")
        with self._lock:
            reply = self._replies.pop(reply_id, None)
            _LIVE.discard((self._key, reply_id))
            final = (
                parts
                if parts is not None or reply is None
                else [_built(reply, i) for i in range(len(reply.parts))]
            )

            def run(db: sqlite3.Connection) -> None:
                row = db.execute("SELECT session_id FROM messages WHERE id = ?", (reply_id,)).fetchone()
                if row is None:
                    return
                if final is not None:
                    db.execute("DELETE FROM parts WHERE message_id = ?", (reply_id,))
                    _insert_parts(db, reply_id, final)
                db.execute(
                    "UPDATE messages SET status = ?, error = ?, input_tokens = ?, output_tokens = ?, cost = ?, "
                    "writer_pid = NULL WHERE id = ?",
                    (status, error, input_tokens, output_tokens, cost, reply_id),
                )
                db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (time.time(), row[0]))

            self._write(run)

    def get_message(self, message_id: int) -> StoredMessage | None:
        sql = f"SELECT {_MESSAGE} FROM messages WHERE id = ?"
        found = self._read(lambda db: _with_parts(db, db.execute(sql, (message_id,)).fetchall()))
        return found[0] if found else None

    def messages(
        self, session_id: str, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Every message (all branches) in order; with ``limit``, the newest N before ``before_id``."""
        sql = f"SELECT {_MESSAGE} FROM messages WHERE session_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        args = (session_id, 2**63 - 1 if before_id is None else before_id, -1 if limit is None else limit)
        return self._read(lambda db: _with_parts(db, db.execute(sql, args).fetchall()[::-1]))

    def path_to(self, message_id: int, limit: int | None = None) -> list[StoredMessage]:
        """The branch from its root to ``message_id``; with ``limit``, only its last N messages."""
        # a scalar subquery per step: a join here makes SQLite build a Bloom filter at every step
        sql = (
            "WITH RECURSIVE chain(id, depth) AS (SELECT ?1, 0 UNION ALL "
            "SELECT (SELECT parent_id FROM messages WHERE id = c.id), c.depth + 1 FROM chain c "
            "WHERE c.id IS NOT NULL AND c.depth + 1 < ?2) "
            f"SELECT {', '.join('m.' + c for c in _MESSAGE.split(', '))} "
            "FROM chain c JOIN messages m ON m.id = c.id ORDER BY c.depth"
        )
        args = (message_id, 2**62 if limit is None else limit)
        return self._read(lambda db: _with_parts(db, db.execute(sql, args).fetchall()[::-1]))

    def history(
        self, session_id: str, leaf_id: int | None = None, limit: int | None = None
    ) -> list[StoredMessage]:
        """What the model sees: the branch ending at ``leaf_id`` (default: the newest message)."""
        if leaf_id is None:
            leaf_id = self._one("SELECT max(id) FROM messages WHERE session_id = ?", session_id)[0]
            if leaf_id is None:
                return []
        found = self.path_to(leaf_id, limit)
        if found and found[-1].session_id != session_id:
            raise StoreError(f"Message {leaf_id} is not in session {session_id}")
        return found

    def children(self, message_id: int) -> list[int]:
        """Replies to ``message_id``; more than one means the conversation branches there."""
        return [
            r[0] for r in self._all("SELECT id FROM messages WHERE parent_id = ? ORDER BY id", message_id)
        ]

    # --- copies, search, cache -------------------------------------------------------------

    def fork(self, session_id: str, at_message_id: int, title: str | None = None) -> SessionRecord:
        """A new session holding the branch up to and including ``at_message_id``."""
        source = self.get_session(session_id)
        if source is None:
            raise SessionNotFoundError(f"No session {session_id!r}")
        now = time.time()
        title = f"{source.title} (fork)".strip() if title is None else title
        copy = SessionRecord(
            secrets.token_hex(6), title, source.model, source.system, source.params, now, now
        )
        return self.insert_session(copy, self.history(session_id, at_message_id))

    def insert_session(self, session: SessionRecord, messages: list[StoredMessage]) -> SessionRecord:
        """Store a whole session in one transaction (import, fork): all of it or nothing.

        Keeps ``session.id`` if it is free, else picks a new one; message ids are renumbered (a
        parent must come before its children). A message still 'streaming' becomes 'interrupted'.
        """

        def run(db: sqlite3.Connection) -> SessionRecord:
            record = SessionRecord(**{**session.__dict__, "message_count": len(messages)})
            taken = db.execute("SELECT 1 FROM sessions WHERE id = ?", (record.id,)).fetchone()
            if taken or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", record.id):
                record.id = secrets.token_hex(6)
            _insert_session(db, record)
            new_ids: dict[int | None, int | None] = {None: None}
            for m in messages:
                if m.parent_id not in new_ids:
                    raise StoreError(f"Message {m.id} comes before its parent {m.parent_id}")
                status = "interrupted" if m.status == "streaming" else m.status
                values = (m.model, m.input_tokens, m.output_tokens, m.cost, status, m.error, None)
                new_ids[m.id] = _insert_message(
                    db, record.id, new_ids[m.parent_id], m.role, values, m.created
                )
                _insert_parts(db, new_ids[m.id], m.parts)
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (record.updated, record.id))
            return record

        return self._write(run)

    def search(self, query: str, limit: int = 20, markers: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
        """Titles and messages containing every word of ``query``, best first (lower ``rank``).

        Words are quoted, so FTS syntax in user input is taken literally; ``word*`` is a prefix.
        Titles and messages are ranked with bm25, except that a query matching ``SEARCH_WINDOW`` or
        more messages lists the newest of them after the titles: bm25 must count every match of
        each word, too slow for a very common word in a large store.
        """
        match = _fts_query(query)
        if not match or limit <= 0:
            return []
        newest = "SELECT rowid, 0 FROM parts_fts WHERE parts_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
        ranked = "SELECT rowid, rank FROM parts_fts WHERE parts_fts MATCH ? ORDER BY rank LIMIT ?"
        # one pass over the hits' rowid range; the CASE keeps snippet() to the hits themselves
        snippets = (
            "SELECT rowid, CASE WHEN rowid IN (SELECT value FROM json_each(?4)) "
            "THEN snippet(parts_fts, 0, ?1, ?2, '…', 16) END "
            "FROM parts_fts WHERE parts_fts MATCH ?3 AND rowid BETWEEN ?5 AND ?6"
        )
        places = (
            "SELECT p.id, m.session_id, s.title, m.id, m.role, s.archived FROM parts p "
            "JOIN messages m ON m.id = p.message_id JOIN sessions s ON s.id = m.session_id "
            "WHERE p.id IN (SELECT value FROM json_each(?))"
        )
        titles = (
            "SELECT f.session_id, s.title, NULL, '', s.archived, highlight(sessions_fts, 0, ?, ?), f.rank "
            "FROM sessions_fts f JOIN sessions s ON s.id = f.session_id "
            "WHERE sessions_fts MATCH ? ORDER BY f.rank LIMIT ?"
        )

        def run(db: sqlite3.Connection) -> list[SearchHit]:
            best = db.execute(newest, (match, SEARCH_WINDOW)).fetchall()
            best = (
                best[:limit] if len(best) == SEARCH_WINDOW else db.execute(ranked, (match, limit)).fetchall()
            )
            rows = db.execute(titles, (*markers, match, limit)).fetchall()
            if best:
                ids = json.dumps([rowid for rowid, _ in best])
                low, high = min(r for r, _ in best), max(r for r, _ in best)
                text = {
                    r: t for r, t in db.execute(snippets, (*markers, match, ids, low, high)) if t is not None
                }
                where = {r[0]: r[1:] for r in db.execute(places, (ids,))}
                rows += [(*where[rowid], text[rowid], rank) for rowid, rank in best]
            return [SearchHit(s, t, m, role, text, rank, bool(a)) for s, t, m, role, a, text, rank in rows]

        return sorted(self._read(run), key=lambda h: h.rank)[:limit]

    def cache_get(self, key: str) -> Any | None:
        row = self._one("SELECT response FROM response_cache WHERE key = ?", key)
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, response: Any) -> None:
        sql = "INSERT OR REPLACE INTO response_cache(key, response, created) VALUES (?, ?, ?)"
        self._write(lambda db: db.execute(sql, (key, _dumps(response), time.time())))


def cache_key(request: Any) -> str:
    """A stable key for a JSON-able request description (model, messages, tools, parameters)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- helpers that run inside a transaction ---------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _built(reply: _Reply, seq: int) -> Part:
    kind, chunks = reply.parts[seq]
    return kind("".join(chunks))


def _session(row: tuple[Any, ...]) -> SessionRecord:
    id_, title, model, system, params, created, updated, archived, count = row
    return SessionRecord(
        id_, title, model, system, json.loads(params), created, updated, bool(archived), count
    )


def _insert_session(db: sqlite3.Connection, r: SessionRecord) -> None:
    db.execute(
        "INSERT INTO sessions(id, title, model, system, params, created, updated, archived) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (r.id, r.title, r.model, r.system, _dumps(r.params), r.created, r.updated, int(r.archived)),
    )


def _parent(db: sqlite3.Connection, session_id: str, parent_id: int | None) -> int | None:
    if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise SessionNotFoundError(f"No session {session_id!r}")
    if parent_id is None:
        return db.execute("SELECT max(id) FROM messages WHERE session_id = ?", (session_id,)).fetchone()[0]
    row = db.execute("SELECT session_id FROM messages WHERE id = ?", (parent_id,)).fetchone()
    if parent_id != ROOT and (row is None or row[0] != session_id):
        raise StoreError(f"Message {parent_id} is not in session {session_id}")
    return parent_id or None


def _insert_message(
    db: sqlite3.Connection,
    session_id: str,
    parent_id: int | None,
    role: Role,
    values: tuple[str, int, int, float | None, str, str | None, int | None],
    created: float | None = None,
) -> int:
    """``values``: model, input and output tokens, cost, status, error, writer pid."""
    now = time.time()
    cursor = db.execute(
        "INSERT INTO messages(session_id, parent_id, role, model, input_tokens, output_tokens, cost, status, "
        "error, writer_pid, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (session_id, parent_id, role, *values, now if created is None else created),
    )
    db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))
    return int(cursor.lastrowid or 0)


def _insert_parts(db: sqlite3.Connection, message_id: int, parts: list[Part]) -> None:
    db.executemany(
        "INSERT INTO parts(message_id, seq, type, data) VALUES (?, ?, ?, ?)",
        [(message_id, seq, p.type, _dumps(_part_dict(p))) for seq, p in enumerate(parts)],
    )


def _with_parts(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[StoredMessage]:
    found = {row[0]: StoredMessage(*row[:3], [], *row[3:]) for row in rows}
    sql = "SELECT message_id, data FROM parts WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY message_id, seq"
    for message_id, data in db.execute(sql, (json.dumps(list(found)),)):
        found[message_id].parts.append(_part(json.loads(data)))
    return list(found.values())


def _fts_query(query: str) -> str:
    """Each word as a quoted FTS5 string (``"`` doubled), all required; a trailing ``*`` makes a prefix."""
    terms = []
    for word in query.replace("\x00", " ").split():  # NUL would end the query string early
        stem = word.rstrip("*")
        if re.search(r"\w", stem):
            terms.append('"' + stem.replace('"', '""') + '"' + ("*" if stem != word else ""))
    return " ".join(terms)


def _process_alive(pid: int) -> bool:
    """Whether a process still runs, i.e. its 'streaming' reply is live rather than interrupted."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it on Windows
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # type: ignore[attr-defined, no-any-return]  # denied: exists
        code = ctypes.c_ulong()
        alive = kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) and code.value == 259  # STILL_ACTIVE
        kernel32.CloseHandle(handle)
        return bool(alive)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
