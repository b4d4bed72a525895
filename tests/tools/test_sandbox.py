"""run_python under attack: runaway loops, memory bombs, secrets in the environment, floods."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from ttt.core.config import ToolsConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.builtins import run_python

from .conftest import call


async def test_prints_and_returns_output(config: ToolsConfig) -> None:
    assert await call(run_python, config, code="print(6 * 7)") == "42\n"
    assert await call(run_python, config, code="x = 1") == "(no output: print() the results you want to see)"
    both = await call(run_python, config, code="import sys; print('out'); print('err', file=sys.stderr)")
    assert both == "out\n\n[stderr]\nerr\n"


async def test_a_failing_script_is_an_error_with_its_traceback(config: ToolsConfig) -> None:
    with pytest.raises(ToolExecutionError, match=r"exited with code 1\n(.|\n)*ZeroDivisionError"):
        await call(run_python, config, code="print('before')\n1 / 0")


async def test_runs_isolated_in_a_fresh_temporary_folder(config: ToolsConfig) -> None:
    code = "import os, sys; print(os.getcwd()); print(os.listdir('.')); print(sys.flags.isolated)"
    folder, listing, isolated = (await call(run_python, config, code=code)).splitlines()
    assert Path(folder).name.startswith("ttt-python-") and folder != os.getcwd()
    assert listing == "['snippet.py']" and isolated == "1"
    assert not Path(folder).exists()  # removed afterwards


async def test_environment_has_no_secrets(config: ToolsConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-should-not-leak")
    output = await call(
        run_python, config, code="import os; print(sorted(os.environ)); print(dict(os.environ))"
    )
    assert "should-not-leak" not in output and "FAKE_API_KEY" not in output
    names = set(eval(output.splitlines()[0]))  # the child's own listing of its variable names
    assert names <= {"PATH", "LANG", "HOME", "TMPDIR", "LC_CTYPE"}


async def test_infinite_loop_is_killed_at_the_timeout(config: ToolsConfig) -> None:
    fast = ToolsConfig(python_timeout=1, python_memory_mb=128)
    started = time.perf_counter()
    with pytest.raises(ToolExecutionError, match="timed out after 1 s; the process was killed"):
        await call(run_python, fast, code="print('spinning', flush=True)\nwhile True:\n    pass")
    assert time.perf_counter() - started < 3


async def test_memory_bombs_hit_the_memory_limit(config: ToolsConfig) -> None:
    for code in ("x = bytearray(4 * 1024**3)", "chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)"):
        started = time.perf_counter()
        with pytest.raises(ToolExecutionError, match=r"MemoryError|killed by"):
            await call(run_python, config, code=code)
        assert time.perf_counter() - started < 3


async def test_output_floods_are_bounded(config: ToolsConfig) -> None:
    output = await call(run_python, config, code="print('x' * 100_000)")
    assert len(output) < 9_000 and "more bytes dropped" in output
    flood = ToolsConfig(python_timeout=1)
    with pytest.raises(ToolExecutionError, match="timed out"):
        await call(run_python, flood, code="while True:\n    print('y' * 10_000)")


async def test_file_size_is_limited(config: ToolsConfig) -> None:
    code = "open('big', 'wb').write(b'0' * 64 * 1024 * 1024)"
    with pytest.raises(ToolExecutionError, match=r"File too large|SIGXFSZ"):
        await call(run_python, config, code=code)


async def test_children_left_running_are_killed(config: ToolsConfig) -> None:
    code = "import subprocess; p = subprocess.Popen(['sleep', '30']); print(p.pid)"
    pid = int(await call(run_python, config, code=code))
    assert await _gone(pid)


async def test_executor_timeout_kills_the_process(tmp_path: Path) -> None:
    from ttt.core.tools.executor import ToolExecutor
    from ttt.core.types import ToolCall

    pid_file = tmp_path / "pid"
    code = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(30)"
    config = ToolsConfig(timeout=1, python_timeout=30, permissions={"run_python": "allow"})
    result = await ToolExecutor([run_python], config).run(ToolCall("c1", "run_python", {"code": code}))
    assert result.error == "run_python timed out after 1 s"
    assert await _gone(int(pid_file.read_text()))


async def _gone(pid: int) -> bool:
    """Whether ``pid`` ends within 2 s (a zombie counts: killed, and waiting to be reaped)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except FileNotFoundError:
            return True
        await asyncio.sleep(0.05)
    return False
