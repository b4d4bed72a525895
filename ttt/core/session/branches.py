"""The branches of a stored conversation: which is active, where they part, switching between them.

Every message has a parent, so a session is a tree: a regenerated reply or an edited prompt is
a sibling of the one it stands beside, and each leaf ends a branch. The session's active leaf is
stored (``sessions.leaf_id``): it is the branch that is shown, continued and sent to the model,
and it survives a restart. Writing a message makes it the active leaf.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ttt.core.errors import StoreError

if TYPE_CHECKING:
    from ttt.core.session.store import Store

__all__ = ["Branch", "BranchPoint", "branch_points", "branches", "siblings", "switch"]


@dataclass(frozen=True)
class Branch:
    """One path from the first message to a leaf."""

    leaf_id: int  # its last message
    length: int  # messages on it
    active: bool  # the one shown and continued


@dataclass(frozen=True)
class BranchPoint:
    """Where a message stands among its siblings (the alternatives with the same parent)."""

    position: int  # 1-based, oldest first
    count: int


def branches(store: Store, session_id: str) -> list[Branch]:
    """Every branch of the session, oldest leaf first."""
    active = store.active_leaf(session_id)
    rows = store.read(
        lambda db: db.execute(
            "WITH RECURSIVE depth(id, n) AS ("
            "SELECT id, 1 FROM messages WHERE session_id = ?1 AND parent_id IS NULL UNION ALL "
            "SELECT m.id, d.n + 1 FROM messages m JOIN depth d ON m.parent_id = d.id) "
            "SELECT id, n FROM depth d WHERE NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = d.id) "
            "ORDER BY id",
            (session_id,),
        ).fetchall()
    )
    return [Branch(leaf, length, leaf == active) for leaf, length in rows]


def siblings(store: Store, message_id: int) -> list[int]:
    """``message_id`` and the messages beside it (same parent, same session), oldest first."""
    rows = store.read(
        lambda db: db.execute(
            "SELECT s.id FROM messages m JOIN messages s ON s.session_id = m.session_id "
            "AND s.parent_id IS m.parent_id WHERE m.id = ? ORDER BY s.id",
            (message_id,),
        ).fetchall()
    )
    return [row[0] for row in rows]


def branch_points(store: Store, message_ids: list[int]) -> dict[int, BranchPoint]:
    """For each of ``message_ids`` that has siblings, where it stands among them (one query for a page)."""
    same = "s.session_id = m.session_id AND s.parent_id IS m.parent_id"
    rows = store.read(
        lambda db: db.execute(
            f"SELECT m.id, (SELECT count(*) FROM messages s WHERE {same} AND s.id <= m.id), "
            f"(SELECT count(*) FROM messages s WHERE {same}) "
            "FROM messages m WHERE m.id IN (SELECT value FROM json_each(?))",
            (json.dumps(message_ids),),
        ).fetchall()
    )
    return {message: BranchPoint(position, count) for message, position, count in rows if count > 1}


def switch(store: Store, session_id: str, message_id: int) -> int:
    """Make the branch through ``message_id`` active, ending at its newest leaf; returns that leaf."""

    def run(db: sqlite3.Connection) -> int:
        found = db.execute("SELECT session_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if found is None or found[0] != session_id:
            raise StoreError(f"Message {message_id} is not in session {session_id}")
        leaf = db.execute(
            "WITH RECURSIVE below(id) AS (SELECT ?1 UNION ALL "
            "SELECT m.id FROM messages m JOIN below b ON m.parent_id = b.id) SELECT max(id) FROM below",
            (message_id,),
        ).fetchone()[0]
        db.execute("UPDATE sessions SET leaf_id = ? WHERE id = ?", (leaf, session_id))
        return int(leaf)

    return store.write(run)
