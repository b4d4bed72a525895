"""Keys and pastes that are not valid UTF-8 (a Latin-1 terminal, an 8-bit meta key) arrive as
U+FFFD instead of ending the app.

Textual's driver decodes stdin with a strict UTF-8 decoder in its input thread, so one stray byte
raises ``UnicodeDecodeError`` there and the app exits (Textual issue #6456). The decoder is made
where the driver's module looks ``getincrementaldecoder`` up; that name is given one that replaces.
"""

from __future__ import annotations

import codecs
import functools
import sys
from typing import Any


def replace_invalid_input(driver: type[Any]) -> None:
    """Make ``driver`` (a Textual driver class) decode its input with ``errors="replace"``."""
    module = sys.modules[driver.__module__]
    if getattr(module, "getincrementaldecoder", None) is codecs.getincrementaldecoder:
        module.getincrementaldecoder = _replacing_decoder  # type: ignore[attr-defined]


def _replacing_decoder(encoding: str) -> Any:
    return functools.partial(codecs.getincrementaldecoder(encoding), errors="replace")
