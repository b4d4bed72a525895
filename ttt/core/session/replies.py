"""A reply while it streams: its text is appended to ``reply_chunks`` as it arrives and folded
into ``parts`` once, when it ends.

Each save writes only what arrived since the last one, so saving a reply costs in proportion
to its length (rewriting the whole text at every save made it grow with the square). A reader
in another process sees the chunks joined; a reply whose writer died is folded when the store
is next opened. Tool calls are written whole as soon as they are known.

This is a write buffer, not a fold of stream events: it keeps parts in the order they were
written, as a reader sees them; a turn's final parts come from ``ttt.core.types.Reply``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field

from ttt.core.session.serialize import part_to_dict
from ttt.core.types import Part, TextPart, ThinkingPart

_KINDS: dict[str, type[TextPart | ThinkingPart]] = {"text": TextPart, "thinking": ThinkingPart}
_IDS = "SELECT value FROM json_each(?)"


@dataclass
class StreamingReply:
    """The parts so far: closed ones whole, the open text or thinking part as its chunks; and
    the chunks not yet written, as ``(seq, type, texts)``."""

    done: list[Part] = field(default_factory=list)
    kind: type[TextPart | ThinkingPart] | None = None
    chunks: list[str] = field(default_factory=list)
    unsaved: list[tuple[int, str, list[str]]] = field(default_factory=list)
    pending: int = 0
    flushed_at: float = field(default_factory=time.monotonic)

    def add(self, delta: str, kind: type[TextPart | ThinkingPart]) -> None:
        if self.kind is not kind:
            self._close()
            self.kind = kind
        self.chunks.append(delta)
        seq = len(self.done)
        if not self.unsaved or self.unsaved[-1][0] != seq:
            self.unsaved.append((seq, kind.type, []))
        self.unsaved[-1][2].append(delta)
        self.pending += len(delta)

    def add_part(self, part: Part) -> int:
        """A whole part after what streamed; returns its place (``seq``)."""
        self._close()
        self.done.append(part)
        return len(self.done) - 1

    def parts(self) -> list[Part]:
        return [*self.done, *([self.kind("".join(self.chunks))] if self.kind else [])]

    def take_unsaved(self, message_id: int) -> list[tuple[int, int, str, str]]:
        """Rows for ``reply_chunks`` of what was not written yet, which then counts as written."""
        rows = [(message_id, seq, kind, "".join(texts)) for seq, kind, texts in self.unsaved]
        self.unsaved, self.pending, self.flushed_at = [], 0, time.monotonic()
        return rows

    def _close(self) -> None:
        if self.kind is not None:
            self.done.append(self.kind("".join(self.chunks)))
            self.kind, self.chunks = None, []


def write_chunks(db: sqlite3.Connection, rows: list[tuple[int, int, str, str]]) -> None:
    db.executemany("INSERT INTO reply_chunks(message_id, seq, type, text) VALUES (?, ?, ?, ?)", rows)


def streamed_parts(db: sqlite3.Connection, message_ids: list[int]) -> list[tuple[int, int, Part]]:
    """``(message id, seq, part)`` for the chunks written so far of these replies."""
    joined: dict[tuple[int, int], tuple[str, list[str]]] = {}
    sql = f"SELECT message_id, seq, type, text FROM reply_chunks WHERE message_id IN ({_IDS}) ORDER BY id"
    for message_id, seq, kind, text in db.execute(sql, (json.dumps(message_ids),)):
        joined.setdefault((message_id, seq), (kind, []))[1].append(text)
    return [(m, seq, _KINDS[kind]("".join(texts))) for (m, seq), (kind, texts) in joined.items()]


def fold_ended(db: sqlite3.Connection) -> None:
    """The chunks of replies no longer streaming (their writer died) become their parts."""
    ended = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT c.message_id FROM reply_chunks c JOIN messages m ON m.id = c.message_id "
            "WHERE m.status != 'streaming'"
        )
    ]
    if not ended:
        return
    db.executemany(
        "INSERT INTO parts(message_id, seq, type, data) VALUES (?, ?, ?, ?)",
        [
            (m, seq, p.type, json.dumps(part_to_dict(p), ensure_ascii=False))
            for m, seq, p in streamed_parts(db, ended)
        ],
    )
    db.execute(f"DELETE FROM reply_chunks WHERE message_id IN ({_IDS})", (json.dumps(ended),))
