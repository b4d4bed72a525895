"""Starts a stdio MCP server for ttt: ``python -I -S launch.py COMMAND [ARGS...]``.

The SDK spawns servers itself, so this small program runs in between and stays, as the server's
supervisor: it asks Linux to send it SIGTERM when ttt dies (``PR_SET_PDEATHSIG``), writes its pid
as the first line of stderr (the server's log; it leads the process group, so ttt can clear the
whole group on exit), then forks the server. When the server ends, or ttt dies in any way
(SIGKILL included), it kills the whole process group, so nothing the server started outlives it.
Standard library only: it runs without site-packages.
"""

import ctypes
import os
import signal
import sys

PID_LINE = "ttt-mcp-pid"


def _clear(*_: object) -> None:
    """Kill the process group: the server, whatever it started, and this supervisor last."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _clear)
    signal.signal(signal.SIGHUP, _clear)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    sys.stderr.write(f"{PID_LINE} {os.getpid()}\n")
    sys.stderr.flush()
    server = os.fork()
    if server == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write(f"cannot run {argv[0]!r}: {exc.strerror or exc}\n")
            sys.stderr.flush()
            os._exit(127)
    devnull = os.open(os.devnull, os.O_RDWR)  # the server alone speaks on stdin and stdout
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ttt decides when the server stops
    os.waitpid(server, 0)
    _clear()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
