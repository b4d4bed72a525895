"""Printing a streamed reply: Markdown on a terminal, plain text into a pipe.

Model output is data, never markup: on a terminal, everything from outside (replies, tool calls,
provider errors, model lists, stored sessions) passes ``ttt.core.sanitize`` before it is printed,
and rich renders replies as Markdown, not as console markup. Into a pipe, stdout stays verbatim.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from ttt.core.sanitize import TerminalFilter, terminal_safe


def shown(text: str) -> str:
    """``text`` as it may go to stdout: terminal-safe on a terminal, verbatim into a pipe."""
    return terminal_safe(text) if sys.stdout.isatty() else text


class PlainPrinter:
    """Writes each delta at once, so a pipe sees tokens as they arrive."""

    def __init__(self, out: IO[str] | None = None, sanitise: bool = False) -> None:
        self.out = out or sys.stdout
        self.filter = TerminalFilter() if sanitise else None
        self.ended_with_newline = True

    def feed(self, text: str) -> None:
        if self.filter is not None:
            text = self.filter.feed(text)
        if not text:
            return
        self.out.write(text)
        self.out.flush()
        self.ended_with_newline = text.endswith("\n")

    def pause(self) -> None:
        """Nothing to stop: a plain stream may be interrupted by a question at any point."""

    def close(self) -> None:
        if self.filter is not None:
            self.feed(self.filter.flush())
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
    """Live Markdown: redrawn at most ~12 times a second, then printed once in full at the end.

    Each redraw renders the whole reply, so a long one waits ``PACE`` times as long as its last
    redraw took before the next: redrawing stays a small share of the time, not quadratic.

    ``pause`` ends the live part where it is (a tool-approval question goes below it); text
    after it starts a new one."""

    REFRESH = 1 / 12
    PACE = 4

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)
        self.text = ""
        self.live: Any = None
        self.filter = TerminalFilter()
        self._restore: Callable[[], None] = lambda: None
        self._next = 0.0

    def _markdown(self) -> Any:
        from rich.markdown import Markdown

        return Markdown(self.text, hyperlinks=False)  # a link's target is shown, never hidden

    def feed(self, text: str) -> None:
        self.text += self.filter.feed(text)
        if self.live is None:
            if not self.text.strip():
                return
            from rich.live import Live

            self.live = Live(console=self.console, auto_refresh=False, vertical_overflow="visible")
            self._restore = quiet_control_keys(sys.stdout)
            self.live.start()
        now = time.monotonic()
        if now >= self._next:
            self.live.update(self._markdown(), refresh=True)
            done = time.monotonic()
            self._next = done + max(self.REFRESH, self.PACE * (done - now))

    def pause(self) -> None:
        try:
            if self.live is not None:
                self.live.update(self._markdown(), refresh=True)
                self.live.stop()
        finally:
            self._restore()
        self.live, self.text, self._restore = None, "", lambda: None

    def close(self) -> None:
        self.text += self.filter.flush()
        if self.live is None and self.text.strip():
            self.feed("")
        self.pause()


def note(message: str, *, style: str = "dim") -> None:
    """A side remark on stderr (routing notices, tool calls, errors), styled only on a terminal.
    It quotes providers and tools, so it is always terminal-safe."""
    message = terminal_safe(message)
    if sys.stderr.isatty() and style == "dim":
        message = f"\x1b[2m{message}\x1b[0m"
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Plain columns, as wide as their widest cell, for the listing subcommands."""
    rows = [tuple(shown(cell) for cell in row) for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
