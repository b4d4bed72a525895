"""One-line shortening: the ellipsis helper and session titles, the same in every front end."""

from __future__ import annotations

from ttt.core.text import TITLE_CHARS, shorten, title_from


def test_shorten_joins_lines_and_cuts_with_one_ellipsis() -> None:
    assert shorten("  a\n  b  ", 10) == "a b"
    assert shorten("abcdef ghij", 8) == "abcdef…"
    assert len(shorten("x" * 100, 20)) == 20


def test_a_title_is_the_first_prompt_on_one_line() -> None:
    assert title_from("   ") == ""
    long = title_from("word " * 40)
    assert len(long) <= TITLE_CHARS and long.endswith("…")
