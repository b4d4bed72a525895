"""Shortening text for one line: the ellipsis helper and the session-title rule.

One place, so a title reads the same whether the TUI or ``ttt -p`` started the session, and
every cut line ends the same way.
"""

from __future__ import annotations

TITLE_CHARS = 60  # a session title from its first prompt; long enough to tell sessions apart


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (runs of whitespace become one space), cut to at most ``limit``
    characters ending in an ellipsis when it is longer."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def title_from(prompt: str) -> str:
    """A session's title from its first prompt ("" when the prompt is blank)."""
    return shorten(prompt, TITLE_CHARS)
