"""Hostile text for the terminal-safety tests, and a pty to run ``ttt`` on.

``CORPUS`` holds the sequences a model, a tool, a file or a provider could send to take over a
terminal: titles, clipboard, hidden links, clearing, device-control strings, 8-bit C1 forms and
bidi overrides. Each one's payload carries ``MARK`` so a test can tell that none of it arrived.
"""

from __future__ import annotations

import base64
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

MARK = "PWNED"
CLIPBOARD = base64.b64encode(f"{MARK} clipboard".encode()).decode()

CORPUS: dict[str, str] = {
    "osc0 title": f"\x1b]0;{MARK} title\x07",
    "osc2 title": f"\x1b]2;{MARK} title\x1b\\",
    "osc8 link": f"\x1b]8;;https://evil.example/{MARK}\x1b\\click\x1b]8;;\x1b\\",
    "osc52 clipboard": f"\x1b]52;c;{CLIPBOARD}\x07",
    "osc unterminated": f"\x1b]0;{MARK} never ends\n",
    "csi clear": "\x1b[2J\x1b[3J\x1b[H",
    "csi colour": "\x1b[31;1;5m",
    "csi private": "\x1b[?1049h\x1b[?25l",
    "dcs": f"\x1bP$q{MARK}\x1b\\",
    "apc kitty image": f"\x1b_Gf=100;{MARK}\x1b\\",
    "pm": f"\x1b^{MARK}\x1b\\",
    "sos": f"\x1bX{MARK}\x1b\\",
    "reset": "\x1bc",
    "keypad": "\x1b=",
    "8-bit csi": "\x9b2J",
    "8-bit osc": f"\x9d0;{MARK}\x9c",
    "8-bit dcs": f"\x90{MARK}\x9c",
    "8-bit apc": f"\x9f{MARK}\x9c",
    "lone c1": "\x85\x8d\x8e\x8f",
    "c0": "\x07\x08\x0b\x0c\x0e\x0f\x7f",
    "carriage return": "\roverwritten",
    "bidi override": "\u202eevil\u202c",
    "bidi isolate": "\u2066\u2067\u2068x\u2069",
}

# Text the sanitiser must not let through: the introducers of every sequence above, raw C1
# characters, bidi controls, the payloads.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = "before " + " | ".join(CORPUS.values()) + " after"


def raw_controls(text: str) -> list[str]:
    """Control and bidi characters in ``text`` (outside text on screen must have none)."""
    return _RAW.findall(text)


# What must never reach the terminal's bytes, though ttt's own styling (SGR, cursor moves) may:
# the sequences' introducers, raw C1 and bidi characters, and (where the text is not shown
# escaped, as JSON) the payloads.
SEQUENCES = [
    b"\x1b]",
    b"\x1b[2J",
    b"\x1b[3J",
    b"\x1b[?1049h",
    b"\x1bP",
    b"\x1b_",
    b"\x1b^",
    b"\x1bX",
    b"\x1bc",
    b"\x1b=",
    b"\xc2\x85",
    b"\xc2\x90",
    b"\xc2\x9b",
    b"\xc2\x9c",
    b"\xc2\x9d",
    b"\xc2\x9f",
    "\u202e".encode(),
    "\u2066".encode(),
]
PAYLOADS = [MARK.encode(), CLIPBOARD.encode(), b"evil.example"]


def forbidden_in(output: bytes, payloads: bool = True) -> list[bytes]:
    return [bad for bad in SEQUENCES + (PAYLOADS if payloads else []) if bad in output]


REPO = Path(__file__).resolve().parent.parent


class Terminal:
    """A process on a pty of its own (stdin, stdout and stderr all terminals), read byte for byte."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, size: tuple[int, int] = (40, 120)):
        import fcntl
        import struct
        import termios

        self.master, slave = pty.openpty()
        rows, cols = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", **(env or {})},
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def read(self, until: Callable[[bytes], bool] | None = None, timeout: float = 30) -> bytes:
        """Read until ``until(output)`` holds, the process closes the pty, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until is not None and until(self.output):
                break
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the other side is closed
                    break
                if not data:
                    break
                self.output += data
            elif self.process.poll() is not None and until is None:
                break
        return self.output

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            os.close(self.master)


def ttt_on_pty(*args: str, env: dict[str, str] | None = None) -> Terminal:
    return Terminal([sys.executable, "-m", "ttt", *args], env)
