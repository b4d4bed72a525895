"""``run_python``: a model's script in its own short-lived, resource-limited process.

The script runs under ``python -I`` in a fresh temporary folder with an environment that holds
only PATH, LANG, HOME and TMPDIR (so no API keys), a wall-clock timeout that kills the whole
process group, and rlimits on CPU time, address space, file size and task count. The limits are
set by a tiny launcher that then ``exec``s the script, instead of ``preexec_fn``, which is unsafe
when the parent has threads (the TUI and ``asyncio.to_thread`` do).

This bounds resources; it is not a filesystem or network jail, which is why the tool asks first.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import tool
from ttt.core.tools.context import current_tools_config

MAX_OUTPUT = 8_000  # bytes kept per stream
MAX_FILE_BYTES = 16 * 1024 * 1024
EXTRA_TASKS = 64  # processes/threads the script may add to what the user already runs
_NO_LIMIT = -1

# argv: cpu seconds, address-space bytes, file-size bytes, task count (-1: leave as is)
_LAUNCHER = """\
import os, resource, sys
kinds = (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC)
for kind, value in zip(kinds, map(int, sys.argv[1:5])):
    if value >= 0:
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.executable, [sys.executable, "-I", "snippet.py"])
"""


@dataclass
class _Capture:
    """The first ``MAX_OUTPUT`` bytes of a stream, and how much there was in all."""

    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.total += len(chunk)
            self.data += chunk[: max(MAX_OUTPUT - len(self.data), 0)]

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        dropped = self.total - len(self.data)
        return f"{text}\n[... {dropped} more bytes dropped]" if dropped else text


@tool(category="code", permission="ask", register=False)
async def run_python(code: str) -> str:
    """Run a Python 3 script in a new, isolated process and return what it prints.

    Each run starts fresh in an empty temporary folder (nothing is kept between runs), with
    limits on time, CPU and memory and only the standard library available.

    Args:
        code: A complete Python script; print() the results you want to see.
    """
    config = current_tools_config()
    limits = (math.ceil(config.python_timeout) + 1, config.python_memory_mb * 1024 * 1024, MAX_FILE_BYTES)
    with tempfile.TemporaryDirectory(prefix="ttt-python-", ignore_cleanup_errors=True) as folder:
        Path(folder, "snippet.py").write_text(code, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            _LAUNCHER,
            *map(str, (*limits, _task_limit())),
            cwd=folder,
            env={
                "PATH": os.environ.get("PATH", os.defpath),
                "LANG": "C.UTF-8",
                "HOME": folder,
                "TMPDIR": folder,
            },
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        out, err = _Capture(), _Capture()
        readers = [
            asyncio.create_task(out.drain(process.stdout)),
            asyncio.create_task(err.drain(process.stderr)),
        ]
        try:
            try:
                timed_out = not await _exited(process, config.python_timeout)
            finally:
                _kill_group(process.pid)  # also whatever the script left running in its group
            await _exited(process, 1.0)
            await asyncio.wait(readers, timeout=1.0)  # a child that escaped the group may hold the pipes
        finally:
            for reader in readers:
                reader.cancel()
    return _report(process.returncode, timed_out, config.python_timeout, out.text(), err.text())


def _report(returncode: int | None, timed_out: bool, timeout: float, stdout: str, stderr: str) -> str:
    output = stdout + (f"\n[stderr]\n{stderr}" if stderr else "")
    if timed_out:
        raise ToolExecutionError(f"timed out after {timeout:g} s; the process was killed\n{output}".rstrip())
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        raise ToolExecutionError(f"the process was killed by {name} (CPU or memory limit)\n{output}".rstrip())
    if returncode:
        raise ToolExecutionError(f"exited with code {returncode}\n{output}".rstrip())
    return output or "(no output: print() the results you want to see)"


async def _exited(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait for the process itself; ``Process.wait()`` would also wait for pipes a grandchild may hold."""
    deadline = time.monotonic() + timeout
    while process.returncode is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _task_limit() -> int:
    """RLIMIT_NPROC counts every task (thread) of the user, so allow what they run now plus a margin."""
    if os.geteuid() == 0 or not os.path.isdir("/proc"):
        return _NO_LIMIT  # root is exempt from RLIMIT_NPROC; without /proc we cannot count
    uid, count = os.getuid(), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return count + EXTRA_TASKS
