"""Printing a streamed reply: Markdown on a terminal, plain text into a pipe.

Model output is data, never markup: on a terminal, control sequences are neutralised before
anything reaches the screen, and rich renders the text as Markdown, not as console markup.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any

_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f\x9b]"
)


def neutralise(text: str) -> str:
    """Drop terminal control sequences (colour, cursor, title, clear) but keep newlines and tabs."""
    return _CONTROL.sub("", text)


class PlainPrinter:
    """Writes each delta at once, so a pipe sees tokens as they arrive."""

    def __init__(self, out: IO[str] | None = None, sanitise: bool = False) -> None:
        self.out = out or sys.stdout
        self.sanitise = sanitise
        self.ended_with_newline = True

    def feed(self, text: str) -> None:
        if not text:
            return
        if self.sanitise:
            text = neutralise(text)
        self.out.write(text)
        self.out.flush()
        self.ended_with_newline = text.endswith("\n")

    def close(self) -> None:
        if not self.ended_with_newline:
            self.out.write("\n")
            self.out.flush()


def quiet_control_keys(out: IO[str]) -> Callable[[], None]:
    """Stop the terminal echoing control keys as ``^C`` while a reply is redrawn in place; returns
    what restores it. The echo moves the cursor (onto a new line when the last one is full), so
    the redraw after Ctrl-C would miss the old copy and the reply would show twice."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        return lambda: None
    try:
        fd = out.fileno()
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~termios.ECHOCTL
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (AttributeError, OSError, ValueError, termios.error):
        return lambda: None
    return lambda: termios.tcsetattr(fd, termios.TCSANOW, saved)


class MarkdownPrinter:
    """Live Markdown: redrawn at most ~12 times a second, then printed once in full at the end."""

    REFRESH = 1 / 12

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(highlight=False)
        self.text = ""
        self.live = Live(console=self.console, auto_refresh=False, vertical_overflow="visible")
        self._restore = quiet_control_keys(sys.stdout)
        self.live.start()
        self._last = 0.0

    def _markdown(self) -> Any:
        from rich.markdown import Markdown

        return Markdown(self.text)

    def feed(self, text: str) -> None:
        self.text += neutralise(text)
        now = time.monotonic()
        if now - self._last >= self.REFRESH:
            self._last = now
            self.live.update(self._markdown(), refresh=True)

    def close(self) -> None:
        try:
            self.live.update(self._markdown(), refresh=True)
            self.live.stop()
        finally:
            self._restore()


def note(message: str, *, style: str = "dim") -> None:
    """A side remark on stderr (routing notices, tool calls), styled only on a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[2m{neutralise(message)}\x1b[0m\n" if style == "dim" else f"{message}\n")
    else:
        sys.stderr.write(neutralise(message) + "\n")
    sys.stderr.flush()


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Plain columns, as wide as their widest cell, for the listing subcommands."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
