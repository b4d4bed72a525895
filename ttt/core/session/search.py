"""Full-text search over the session store: titles and message text, ranked, with snippets."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ttt.core.session.store import Store

SEARCH_WINDOW = 1000  # a query matching more messages lists the newest first (bm25 would count them all)


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


def search(
    store: Store, query: str, limit: int = 20, markers: tuple[str, str] = ("[", "]")
) -> list[SearchHit]:
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
        best = best[:limit] if len(best) == SEARCH_WINDOW else db.execute(ranked, (match, limit)).fetchall()
        rows = db.execute(titles, (*markers, match, limit)).fetchall()
        if best:
            ids = json.dumps([rowid for rowid, _ in best])
            low, high = min(r for r, _ in best), max(r for r, _ in best)
            text = {r: t for r, t in db.execute(snippets, (*markers, match, ids, low, high)) if t is not None}
            where = {r[0]: r[1:] for r in db.execute(places, (ids,))}
            rows += [(*where[rowid], text[rowid], rank) for rowid, rank in best]
        return [SearchHit(s, t, m, role, text, rank, bool(a)) for s, t, m, role, a, text, rank in rows]

    return sorted(store.read(run), key=lambda h: h.rank)[:limit]


def _fts_query(query: str) -> str:
    """Each word as a quoted FTS5 string (``"`` doubled), all required; a trailing ``*`` makes a prefix."""
    terms = []
    for word in query.replace("\x00", " ").split():  # NUL would end the query string early
        stem = word.rstrip("*")
        if re.search(r"\w", stem):
            terms.append('"' + stem.replace('"', '""') + '"' + ("*" if stem != word else ""))
    return " ".join(terms)
