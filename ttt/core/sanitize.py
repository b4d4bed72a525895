"""The one sanitiser for text from outside (models, tools, providers, files, imports) bound for a
terminal: no control sequence survives, so only ttt's own styling ever reaches the terminal.

Every C0 and C1 control except newline and tab is dropped, whole escape sequences (CSI, OSC, DCS,
APC, PM, SOS) with them, and bidirectional overrides are shown as visible marks instead of being
allowed to reorder the text around them. Because the escape character itself never passes, a
sequence split across stream chunks is harmless too; ``TerminalFilter`` also keeps such a split
sequence's body from showing up as stray text. ``json_safe`` is the same rule for JSON output:
there the characters are kept, written as escapes.
"""

from __future__ import annotations

import re

# A whole sequence: CSI (ESC [ or 8-bit CSI) ... final byte; OSC/DCS/SOS/PM/APC (7- or 8-bit
# introducer) ... up to BEL or ST (an unterminated one up to the end of its line); any other
# two-byte ESC form.
_SEQUENCE = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])"
    r"(?:[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)|[^\x07\x1b\x9c\n]*)"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"{_SEQUENCE}|{_CONTROL}|[{_BIDI}]")
_ANY_UNSAFE = re.compile(f"{_CONTROL}|[{_BIDI}]")  # every match above starts with one of these
# A sequence still open at the end of a chunk: held back until the next chunk completes it.
_OPEN_TAIL = re.compile(r"(?:\x1b[\[\]PX^_]?|\x9b|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]{0,256}\Z")
_CSI_DONE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]")
_JSON_RAW = re.compile(f"[\\x7f-\\x9f{_BIDI}]")


def _replace(match: re.Match[str]) -> str:
    text = match.group()
    return f"<U+{ord(text):04X}>" if text in _BIDI else ""


def terminal_safe(text: str) -> str:
    """``text`` with every control sequence and control character removed (newlines and tabs
    kept; a CRLF becomes a newline) and bidi overrides made visible."""
    if _ANY_UNSAFE.search(text) is None:  # the common case, several times faster than ``sub``
        return text
    return _UNSAFE.sub(_replace, text.replace("\r\n", "\n"))


def json_safe(encoded: str) -> str:
    """JSON text with DEL, C1 controls and bidi overrides written as ``\\uXXXX``: the same data,
    nothing a terminal acts on. (``json.dumps`` already escapes C0; these can only occur inside
    strings, so the result stays valid JSON.)"""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


class TerminalFilter:
    """``terminal_safe`` for a stream of chunks: a sequence cut by a chunk edge is removed whole
    instead of leaving its body behind as text."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        self._held = ""
        tail = _OPEN_TAIL.search(text)
        if tail is not None and not _CSI_DONE.match(tail.group()):
            text, self._held = text[: tail.start()], tail.group()
        return terminal_safe(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return terminal_safe(held)
