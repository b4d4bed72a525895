"""The one terminal sanitiser against the escape corpus, whole and cut into chunks anywhere."""

from __future__ import annotations

import json
import random

import pytest

from tests.escapes import CORPUS, HOSTILE, MARK, raw_controls
from ttt.core.sanitize import TerminalFilter, json_safe, terminal_safe


@pytest.mark.parametrize("name", CORPUS)
def test_every_sequence_is_removed_whole(name: str) -> None:
    shown = terminal_safe(f"before {CORPUS[name]} after")
    assert raw_controls(shown) == []
    assert MARK not in shown
    assert shown.startswith("before ") and shown.endswith(" after")


def test_text_newlines_and_tabs_are_kept() -> None:
    text = "# Title\n\n- item\twith tab\n```py\nprint('ü ✓ 日本')\n```\n"
    assert terminal_safe(text) == text
    assert terminal_safe("a\r\nb") == "a\nb"


def test_bidi_overrides_are_shown_not_obeyed() -> None:
    assert terminal_safe("abc\u202edef\u202c") == "abc<U+202E>def<U+202C>"
    assert terminal_safe("\u2066x\u2069") == "<U+2066>x<U+2069>"


def test_an_unterminated_string_ends_with_its_line() -> None:
    assert terminal_safe(f"a\x1b]0;{MARK}\nnext line") == "a\nnext line"


def test_c1_controls_all_go() -> None:
    assert [terminal_safe(chr(code)) for code in range(0x80, 0xA0)] == [""] * 32
    assert terminal_safe("a\x85b\x9b2Jc") == "abc"


@pytest.mark.parametrize("name", CORPUS)
def test_a_sequence_cut_at_any_point_is_removed_whole(name: str) -> None:
    text = f"before {CORPUS[name]} after"
    for cut in range(len(text) + 1):
        stream = TerminalFilter()
        shown = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.flush()
        assert shown == terminal_safe(text), (name, cut)


def test_random_chunkings_of_the_whole_corpus() -> None:
    rng = random.Random(12)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(HOSTILE)), rng.randint(1, 60)))
        pieces = [HOSTILE[a:b] for a, b in zip([0, *cuts], [*cuts, len(HOSTILE)], strict=True)]
        stream = TerminalFilter()
        shown = "".join(stream.feed(piece) for piece in pieces) + stream.flush()
        assert shown == terminal_safe(HOSTILE)
        assert raw_controls(shown) == [] and MARK not in shown


def test_one_character_at_a_time() -> None:
    stream = TerminalFilter()
    shown = "".join(stream.feed(c) for c in HOSTILE) + stream.flush()
    assert shown == terminal_safe(HOSTILE)


def test_plain_text_is_not_held_back() -> None:
    stream = TerminalFilter()
    assert stream.feed("hello ") == "hello "
    assert stream.feed("wor\x1b]0;") == "wor"  # the open sequence waits for its end
    assert stream.feed("x\x07ld") == "ld"


def test_json_safe_escapes_what_json_leaves_raw() -> None:
    value = {"text": HOSTILE}
    encoded = json_safe(json.dumps(value, ensure_ascii=False))
    assert raw_controls(encoded) == []
    assert json.loads(encoded) == value
