"""``run_python``: a model's script in its own short-lived, resource-limited process.

The script runs under ``python -I`` in a fresh temporary folder with an environment that holds
only PATH, LANG, HOME and TMPDIR (so no API keys), below a small supervisor process
(``supervisor.py``) that applies rlimits on CPU time, address space, file size and task count,
and kills everything the script started, removing its folder, when the script ends, times out,
is cancelled, or ttt dies in any way. ttt makes itself non-dumpable before the first run, so a
script can't read ttt's environment through ``/proc/<pid>/environ`` either.

This bounds resources; it is not a filesystem or network jail, which is why the tool asks first.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import os
import shutil
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
STOP_GRACE = 2.0  # seconds the supervisor has to clean up after SIGTERM before it is killed
SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))
PR_SET_DUMPABLE = 4


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


def protect_environment() -> None:
    """Make this process non-dumpable: its ``/proc/<pid>/environ`` (API keys), memory and fds can
    then be read only with CAP_SYS_PTRACE, which a script's process never has. Reading our own
    ``/proc/self`` still works; core dumps and attaching a debugger without root do not."""
    if sys.platform != "linux":
        raise ToolExecutionError("run_python needs Linux (its isolation uses prctl and /proc)")
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise ToolExecutionError(f"could not protect ttt's environment: {os.strerror(ctypes.get_errno())}")


@tool(category="code", permission="ask", register=False)
async def run_python(code: str) -> str:
    """Run a Python 3 script in a new, isolated process and return what it prints.

    Each run starts fresh in an empty temporary folder (nothing is kept between runs), with
    limits on time, CPU and memory and only the standard library available.

    Args:
        code: A complete Python script; print() the results you want to see.
    """
    config = current_tools_config()
    protect_environment()
    limits = (math.ceil(config.python_timeout) + 1, config.python_memory_mb * 1024 * 1024, MAX_FILE_BYTES)
    folder = tempfile.mkdtemp(prefix="ttt-python-")
    try:
        Path(folder, "snippet.py").write_text(code, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-S",  # no site: the supervisor needs only the standard library, and starts sooner
            SUPERVISOR,
            str(os.getpid()),
            folder,
            *map(str, limits),
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
    except BaseException:
        _remove(folder)
        raise
    assert process.stdout is not None and process.stderr is not None
    out, err = _Capture(), _Capture()
    readers = [
        asyncio.create_task(out.drain(process.stdout)),
        asyncio.create_task(err.drain(process.stderr)),
    ]
    try:
        timed_out = not await _exited(process, config.python_timeout)
        if timed_out:
            _signal(process, signal.SIGTERM)  # the supervisor kills the script and all it started
            if not await _exited(process, STOP_GRACE):
                _signal(process, signal.SIGKILL)
        await asyncio.wait(readers, timeout=1.0)
    finally:
        _signal(process, signal.SIGTERM)  # cancelled: the supervisor still cleans up
        for reader in readers:
            reader.cancel()
        _remove(folder)
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
    """Wait for the process itself; ``Process.wait()`` would also wait for its pipes."""
    deadline = time.monotonic() + timeout
    while process.returncode is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _signal(process: asyncio.subprocess.Process, number: int) -> None:
    if process.returncode is None:
        try:
            os.kill(process.pid, number)
        except ProcessLookupError:
            pass


def _remove(folder: str) -> None:
    """The supervisor removes the folder too; this covers a supervisor that never started."""
    shutil.rmtree(folder, ignore_errors=True)
