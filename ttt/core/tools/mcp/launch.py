"""Starts a stdio MCP server for ttt: ``python -I -S launch.py COMMAND [ARGS...]``.

The SDK spawns servers itself, so this small program runs in between: it asks Linux to kill it
when ttt dies (``PR_SET_PDEATHSIG``, kept across ``exec``), writes its pid as the first line of
stderr (the server's log) so ttt can clear the whole process group on exit, then becomes the
server with ``exec``. Standard library only: it runs without site-packages.
"""

import ctypes
import os
import signal
import sys

PID_LINE = "ttt-mcp-pid"


def main(argv: list[str]) -> int:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    sys.stderr.write(f"{PID_LINE} {os.getpid()}\n")
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write(f"cannot run {argv[0]!r}: {exc.strerror or exc}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
