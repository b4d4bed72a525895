"""Whether a process is still there: for the tests that prove nothing ttt starts outlives it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # the state follows the name, which may hold spaces and parentheses
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def wait_gone(pid: int, seconds: float = 20.0) -> bool:
    """True once ``pid`` has exited (within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def orphans_of_killed_parent(code: str, env: dict[str, str] | None = None) -> list[int]:
    """Run ``code`` in a Python process that prints, on one line, the pids of processes it
    started, SIGKILL that process, and return those pids (which should then go away by themselves)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
    )
    try:
        assert parent.stdout is not None
        pids = [int(word) for word in parent.stdout.readline().split()]
        assert pids and all(map(alive, pids))
    finally:
        parent.kill()
        parent.wait()
    return pids
