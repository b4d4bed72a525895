"""The SQLite session store: every conversation, written as it happens.

One WAL-mode file shared by the TUI and any number of ``ttt -p`` processes; opening it, its
transactions and its errors are ``ttt.core.session.database``'s. A reply is written while it
streams (batched, appended: ``ttt.core.session.replies``), so a killed process loses at most the
last fraction of a second; the next open marks it ``interrupted`` and keeps its text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from ttt.core.errors import SessionNotFoundError, StoreError
from ttt.core.session.database import ROOT, STREAMING, Database
from ttt.core.session.replies import StreamingReply, fold_ended, streamed_parts, write_chunks
from ttt.core.session.serialize import ROLES, STATUSES, SessionRecord, Status, StoredMessage
from ttt.core.session.serialize import part_from_dict as _part
from ttt.core.session.serialize import part_to_dict as _part_dict
from ttt.core.types import Message, Part, Role, TextPart, ThinkingPart

if TYPE_CHECKING:
    from ttt.core.session.search import SearchHit

__all__ = [
    "ROOT",
    "SessionNotFoundError",
    "SessionRecord",
    "Store",
    "StoreError",
    "StoredMessage",
]

FLUSH_SECONDS = 0.25
FLUSH_BYTES = 16384
# StoredMessage's fields in order, parts aside
_MESSAGE = "id, session_id, role, parent_id, model, input_tokens, output_tokens, cost, status, error, created"
# the session's chosen leaf while it is one of its messages, else its newest message
_ACTIVE_LEAF = (
    "SELECT coalesce((SELECT id FROM messages WHERE id = s.leaf_id AND session_id = s.id), "
    "(SELECT max(id) FROM messages WHERE session_id = s.id)) FROM sessions s WHERE s.id = ?"
)
_SESSION = (
    "id, title, model, system, params, created, updated, archived, "
    "(SELECT count(*) FROM messages m WHERE m.session_id = sessions.id)"
)


class Store(Database):
    """All sessions in one SQLite file; thread-safe, every call one short transaction."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._replies: dict[int, StreamingReply] = {}
        super().__init__(path)

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
                super().close()

    def _recover(self, db: sqlite3.Connection) -> None:
        super()._recover(db)
        fold_ended(db)

    def _change_session(self, sql: str, *args: Any) -> None:
        """One statement whose last argument is a session id; a missing session is an error."""

        def run(db: sqlite3.Connection) -> None:
            if db.execute(sql, args).rowcount == 0:
                raise SessionNotFoundError(f"No session {args[-1]!r}")

        self.write(run)

    # --- sessions --------------------------------------------------------------------------

    def create_session(
        self, title: str = "", model: str = "", system: str = "", params: dict[str, Any] | None = None
    ) -> SessionRecord:
        now = time.time()
        record = SessionRecord(secrets.token_hex(6), title, model, system, dict(params or {}), now, now)
        self.write(lambda db: _insert_session(db, record))
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
        """Store a whole message; ``parent_id`` None follows the active leaf, ``ROOT`` starts a branch."""
        if message.role not in ROLES or status not in STATUSES:
            raise ValueError(f"bad role {message.role!r} or status {status!r}")
        values = (model, input_tokens, output_tokens, cost, status, error, None)
        return self.write(lambda db: _insert_whole(db, session_id, parent_id, message, values))

    def add_prompt(
        self, session_id: str, message: Message, parent_id: int | None, seen: int | None
    ) -> tuple[int, bool]:
        """Store ``message`` after ``parent_id``; also whether the session had gained messages
        after ``seen``, the newest one the caller knew of (another process continued it
        meanwhile, so this starts a branch). One write transaction, so two can't both miss it."""

        def run(db: sqlite3.Connection) -> tuple[int, bool]:
            newest = db.execute(
                "SELECT max(id) FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            new_id = _insert_whole(
                db, session_id, parent_id, message, ("", 0, 0, None, "complete", None, None)
            )
            return new_id, newest is not None and newest != seen

        return self.write(run)

    def begin_reply(self, session_id: str, parent_id: int | None = None, model: str = "") -> int:
        """Start a streaming assistant message: ``append_reply`` feeds it, ``finish_reply`` ends it."""
        values = (model, 0, 0, None, "streaming", None, os.getpid())
        with self._lock:
            reply_id = self.write(
                lambda db: _insert_message(
                    db, session_id, _parent(db, session_id, parent_id), "assistant", values
                )
            )
            self._replies[reply_id] = StreamingReply()
            STREAMING.add((self._key, reply_id))
        return reply_id

    def append_reply(self, reply_id: int, delta: str, *, thinking: bool = False) -> None:
        """Buffer a delta; it is written within ``FLUSH_SECONDS`` or ``FLUSH_BYTES``."""
        with self._lock:
            reply = self._replies[reply_id]
            reply.add(delta, ThinkingPart if thinking else TextPart)
            if reply.pending >= FLUSH_BYTES or time.monotonic() - reply.flushed_at >= FLUSH_SECONDS:
                self.flush_reply(reply_id)

    def add_reply_part(self, reply_id: int, part: Part) -> None:
        """Write a whole part (a tool call) after what streamed, at once: a call may act on the
        world, so it must outlive a crash even before the reply ends."""
        with self._lock:
            reply = self._replies[reply_id]
            seq = reply.add_part(part)
            self._flush(reply_id, [(reply_id, seq, part.type, _dumps(_part_dict(part)))])

    def flush_reply(self, reply_id: int) -> None:
        """Write what has streamed so far (``append_reply`` does this on its own)."""
        self._flush(reply_id, [])

    def _flush(self, reply_id: int, parts: list[tuple[int, int, str, str]]) -> None:
        with self._lock:
            chunks = self._replies[reply_id].take_unsaved(reply_id)

            def run(db: sqlite3.Connection) -> None:
                if db.execute("SELECT 1 FROM messages WHERE id = ?", (reply_id,)).fetchone():  # else: deleted
                    write_chunks(db, chunks)
                    db.executemany(
                        "INSERT INTO parts(message_id, seq, type, data) VALUES (?, ?, ?, ?)", parts
                    )

            self.write(run)

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
            STREAMING.discard((self._key, reply_id))
            final = parts if parts is not None or reply is None else reply.parts()

            def run(db: sqlite3.Connection) -> None:
                row = db.execute("SELECT session_id FROM messages WHERE id = ?", (reply_id,)).fetchone()
                if row is None:
                    return
                if final is not None:
                    db.execute("DELETE FROM parts WHERE message_id = ?", (reply_id,))
                    db.execute("DELETE FROM reply_chunks WHERE message_id = ?", (reply_id,))
                    _insert_parts(db, reply_id, final)
                db.execute(
                    "UPDATE messages SET status = ?, error = ?, input_tokens = ?, output_tokens = ?, cost = ?, "
                    "writer_pid = NULL WHERE id = ?",
                    (status, error, input_tokens, output_tokens, cost, reply_id),
                )
                db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (time.time(), row[0]))

            self.write(run)

    def usage(self, session_id: str) -> tuple[int, int, float | None]:
        """Input and output tokens and cost (None when no reply had a known cost) of a session."""
        row = self._one(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), sum(cost) "
            "FROM messages WHERE session_id = ?",
            session_id,
        )
        return row[0], row[1], row[2]

    def get_message(self, message_id: int) -> StoredMessage | None:
        sql = f"SELECT {_MESSAGE} FROM messages WHERE id = ?"
        found = self.read(lambda db: _with_parts(db, db.execute(sql, (message_id,)).fetchall()))
        return found[0] if found else None

    def messages(
        self, session_id: str, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Every message (all branches) in order; with ``limit``, the newest N before ``before_id``."""
        sql = f"SELECT {_MESSAGE} FROM messages WHERE session_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        args = (session_id, 2**63 - 1 if before_id is None else before_id, -1 if limit is None else limit)
        return self.read(lambda db: _with_parts(db, db.execute(sql, args).fetchall()[::-1]))

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
        return self.read(lambda db: _with_parts(db, db.execute(sql, args).fetchall()[::-1]))

    def history(
        self, session_id: str, leaf_id: int | None = None, limit: int | None = None
    ) -> list[StoredMessage]:
        """What the model sees: the branch ending at ``leaf_id`` (default: the active branch)."""
        if leaf_id is None:
            leaf_id = self.active_leaf(session_id)
            if leaf_id is None:
                return []
        found = self.path_to(leaf_id, limit)
        if found and found[-1].session_id != session_id:
            raise StoreError(f"Message {leaf_id} is not in session {session_id}")
        return found

    def active_leaf(self, session_id: str) -> int | None:
        """The last message of the branch the session shows and continues: the one chosen last
        (``ttt.core.session.branches.switch``), else the newest message written."""
        row = self._one(_ACTIVE_LEAF, session_id)
        return None if row is None else row[0]

    def newest(self, session_id: str) -> int | None:
        """The id of the session's newest message, whichever branch it is on."""
        return self._one("SELECT max(id) FROM messages WHERE session_id = ?", session_id)[0]

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
                new_id = _insert_message(db, record.id, new_ids[m.parent_id], m.role, values, m.created)
                new_ids[m.id] = new_id
                _insert_parts(db, new_id, m.parts)
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (record.updated, record.id))
            return record

        return self.write(run)

    def search(self, query: str, limit: int = 20, markers: tuple[str, str] = ("[", "]")) -> list[SearchHit]:
        """Titles and messages containing every word of ``query``, best first (``ttt.core.session.search``)."""
        from ttt.core.session.search import search

        return search(self, query, limit, markers)

    def cache_get(self, key: str) -> Any | None:
        row = self._one("SELECT response FROM response_cache WHERE key = ?", key)
        return json.loads(row[0]) if row else None

    def cache_put(self, key: str, response: Any) -> None:
        sql = "INSERT OR REPLACE INTO response_cache(key, response, created) VALUES (?, ?, ?)"
        self.write(lambda db: db.execute(sql, (key, _dumps(response), time.time())))


def cache_key(request: Any) -> str:
    """A stable key for a JSON-able request description (model, messages, tools, parameters)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- helpers that run inside a transaction ---------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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
        return db.execute(_ACTIVE_LEAF, (session_id,)).fetchone()[0]
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
    new_id = int(cursor.lastrowid or 0)
    # the newest message is on the branch shown: the one it continues, or a new one beside it
    db.execute("UPDATE sessions SET updated = ?, leaf_id = ? WHERE id = ?", (now, new_id, session_id))
    return new_id


def _insert_whole(
    db: sqlite3.Connection,
    session_id: str,
    parent_id: int | None,
    message: Message,
    values: tuple[str, int, int, float | None, str, str | None, int | None],
) -> int:
    new_id = _insert_message(db, session_id, _parent(db, session_id, parent_id), message.role, values)
    _insert_parts(db, new_id, message.parts)
    return new_id


def _insert_parts(db: sqlite3.Connection, message_id: int, parts: list[Part]) -> None:
    db.executemany(
        "INSERT INTO parts(message_id, seq, type, data) VALUES (?, ?, ?, ?)",
        [(message_id, seq, p.type, _dumps(_part_dict(p))) for seq, p in enumerate(parts)],
    )


def _with_parts(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[StoredMessage]:
    """The messages with their parts; a reply still streaming also gets the text written so far."""
    found = {row[0]: StoredMessage(*(*row[:3], [], *row[3:])) for row in rows}  # parts: below
    placed: list[tuple[int, int, Part]] = []
    sql = "SELECT message_id, seq, data FROM parts WHERE message_id IN (SELECT value FROM json_each(?))"
    for message_id, seq, data in db.execute(sql, (json.dumps(list(found)),)):
        placed.append((message_id, seq, _part(json.loads(data))))
    live = [m.id for m in found.values() if m.status == "streaming"]
    if live:
        placed += streamed_parts(db, live)
    for message_id, _, part in sorted(placed, key=lambda p: p[:2]):
        found[message_id].parts.append(part)
    return list(found.values())
