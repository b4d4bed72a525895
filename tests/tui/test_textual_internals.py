"""The few Textual internals the app leans on are still there: this fails loudly on an upgrade
that removes them, instead of the app silently losing what they give (pyproject pins Textual)."""

from __future__ import annotations

import codecs
import inspect
import sys

from textual.widgets import Footer

from ttt_tui.app import create_app
from ttt_tui.terminal_input import _replacing_decoder
from ttt_tui.widgets.transcript import Transcript


def test_scroll_anchor_state_is_where_the_transcript_reads_it() -> None:
    transcript = Transcript()
    assert transcript._anchored is False and transcript._anchor_released is False
    transcript._anchored = True
    assert transcript.is_anchored


def test_footer_recompose_is_the_coroutine_the_app_overrides() -> None:
    assert inspect.iscoroutinefunction(Footer.recompose)


def test_the_drivers_decoder_lookup_is_replaced() -> None:
    driver = create_app(model="fake/x").get_driver_class()
    module = sys.modules[driver.__module__]
    assert module.getincrementaldecoder is _replacing_decoder  # type: ignore[attr-defined]
    decoder = module.getincrementaldecoder("utf-8")()  # type: ignore[attr-defined]
    assert decoder.decode(b"caf\xe9 ok") == "caf\ufffd ok"
    assert codecs.getincrementaldecoder("utf-8")().decode(b"ok") == "ok"  # the global one untouched
