"""The process between ttt and a ``run_python`` script, so nothing the script starts outlives ttt.

ttt runs this file as ``python -I supervisor.py TTT_PID FOLDER CPU_S AS_BYTES FSIZE_BYTES``. It uses
the standard library only and imports nothing from ttt: it runs isolated, with a clean environment.

- It is a child subreaper: whatever the script starts, even a daemon that double-forks and calls
  ``setsid``, stays its descendant instead of moving to init.
- The kernel sends it SIGTERM when ttt dies, however ttt dies (``PR_SET_PDEATHSIG``), and ttt sends
  SIGTERM on a timeout or a cancel; the script gets SIGKILL if the supervisor itself dies.
- However it ends, it kills every descendant, removes the script's folder, and ends as the script did.
- The script runs with rlimits, in its own session, and, when ttt runs as root, without any
  capability (so, like any same-user process, it can't read ttt's ``/proc`` entries: ttt is
  non-dumpable).
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECBIT_NOROOT = 0x3  # SECBIT_NOROOT | SECBIT_NOROOT_LOCKED: uid 0 gets no capability on exec
EXTRA_TASKS = 64  # processes/threads the script may add to what the user already runs
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stop(Exception):
    """ttt died, timed the script out or cancelled it."""


def prctl(option: int, value: int) -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def descendants() -> set[int]:
    """Every live process below this one, from the parent links in ``/proc/<pid>/stat``."""
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    parents[int(name)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def kill_all() -> None:
    """SIGKILL every descendant until none is left; the orphans of a killed one come to us."""
    while True:
        for pid in descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        time.sleep(0.005)


def task_limit() -> int:
    """RLIMIT_NPROC counts every task (thread) of the user, so allow what they run now plus a margin."""
    uid, count = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count + EXTRA_TASKS


def run_script(limits: list[int]) -> None:
    """In the forked child: limits, a new session, no privileges, then the script. Never returns."""
    try:
        supervisor = os.getppid()
        os.setsid()
        if os.geteuid() == 0:
            prctl(PR_SET_SECUREBITS, SECBIT_NOROOT)  # root without capabilities, for good
        else:
            limits.append(task_limit())  # root ignores RLIMIT_NPROC
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != supervisor:
            os._exit(1)
        kinds = (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC)
        for kind, value in zip(kinds, limits, strict=False):
            hard = resource.getrlimit(kind)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        os.execv(sys.executable, [sys.executable, "-I", "snippet.py"])
    except BaseException as exc:
        print(f"run_python could not start: {exc}", file=sys.stderr, flush=True)
    os._exit(127)


def main(argv: list[str]) -> int:
    ttt, folder = int(argv[1]), argv[2]
    limits = [int(value) for value in argv[3:6]]

    def stop(number: int, frame: object) -> None:
        raise Stop

    for number in STOP_SIGNALS:
        signal.signal(number, stop)
    status = None
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != ttt:
            return 1  # ttt died before the line above
        child = os.fork()
        if child == 0:
            run_script(limits)
        status = os.waitpid(child, 0)[1]
    except Stop:
        pass
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        kill_all()
        shutil.rmtree(folder, ignore_errors=True)
    if status is None:
        return 1
    if os.WIFSIGNALED(status):
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [died_of])
        os.kill(os.getpid(), died_of)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
