"""run_python against a script that tries to outlive ttt or to read ttt's secrets.

Each test starts a real ttt-like parent process (it runs ``run_python`` as the app and the CLI
do), then attacks it the way a model's script could: reading ``/proc/<ttt>/environ``, leaving
children and double-forked, ``setsid`` grandchildren behind, and killing ttt with every signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.processes import alive

KEY = "sk-fake-parent-key-0123456789"

PARENT = """\
import asyncio, os, sys
from ttt.core.config import ToolsConfig
from ttt.core.tools.context import use_tools_config
from ttt.core.tools.sandbox import run_python

with use_tools_config(ToolsConfig(python_timeout=float(sys.argv[1]))):
    try:
        print(asyncio.run(run_python.func(open(sys.argv[2]).read())), flush=True)
    except Exception as exc:
        print("error:", exc, flush=True)
own = open("/proc/self/environ", "rb").read()
print("own environ readable:", os.environ["OPENAI_API_KEY"].encode() in own, flush=True)
print("own fds readable:", len(os.listdir("/proc/self/fd")) > 0, flush=True)
"""

SNOOP = """\
import os
pid, seen = os.getppid(), []
while pid > 1:
    for name in ("environ", "cmdline", "maps", "status"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                seen.append(f"{pid} {name}: {f.read()!r}")
        except OSError as exc:
            seen.append(f"{pid} {name}: {type(exc).__name__}")
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            seen.append(f"{pid} mem: opened")
    except OSError as exc:
        seen.append(f"{pid} mem: {type(exc).__name__}")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            seen.append(f"{pid} task environ: {open(f'/proc/{pid}/task/{task}/environ', 'rb').read()!r}")
        except OSError as exc:
            seen.append(f"{pid} task environ: {type(exc).__name__}")
    with open(f"/proc/{pid}/status") as f:
        pid = int(next(line for line in f if line.startswith("PPid:")).split()[1])
print("\\n".join(seen))
"""


def start_parent(tmp_path: Path, code: str, timeout: float = 30) -> subprocess.Popen[str]:
    """A ttt-like process holding an API key in its environment, running ``code`` with run_python."""
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.Popen(
        [sys.executable, "-c", PARENT, str(timeout), str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def test_a_script_cannot_read_the_environment_of_ttt(tmp_path: Path) -> None:
    parent = start_parent(tmp_path, SNOOP)
    output, _ = parent.communicate(timeout=30)
    assert KEY not in output
    assert f"{parent.pid} environ: PermissionError" in output, output  # it did try ttt itself
    assert f"{parent.pid} mem: PermissionError" in output
    assert f"{parent.pid} cmdline: b'" in output  # still readable: it holds no secret
    assert "own environ readable: True" in output and "own fds readable: True" in output


def tree_script(tmp_path: Path, then: str) -> str:
    """A script that leaves a child and a double-forked, setsid grandchild behind, then ``then``.

    The grandchild writes ``later`` a few seconds on, unless it was killed first.
    """
    pids, later = tmp_path / "pids", tmp_path / "later"
    return textwrap.dedent(f"""\
        import os, subprocess, time
        def note(pid):
            with open({str(pids)!r}, "a") as f:
                f.write(f"{{pid}}\\n")
        note(os.getpid())
        note(subprocess.Popen(["sleep", "60"]).pid)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                note(os.getpid())
                time.sleep(4)
                open({str(later)!r}, "w").write("escaped")
                os._exit(0)
            os._exit(0)
        os.wait()
        while len(open({str(pids)!r}).read().splitlines()) < 3:  # the grandchild has noted its pid
            time.sleep(0.01)
        with open({str(pids)!r}, "a") as f:
            f.write("cwd " + os.getcwd() + "\\n")
        {then}
    """)


def wait_for_tree(tmp_path: Path) -> tuple[list[int], Path]:
    """The script's, child's and grandchild's pids and the script's folder, once all are written."""
    pids = tmp_path / "pids"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = pids.read_text().splitlines() if pids.exists() else []
        if len(lines) == 4:
            folder = next(line for line in lines if line.startswith("cwd "))[4:]
            return [int(line) for line in lines if not line.startswith("cwd ")], Path(folder)
        time.sleep(0.02)
    raise AssertionError(f"the script did not start: {pids.read_text() if pids.exists() else 'no pids'}")


def assert_all_gone(pids: list[int], folder: Path, later: Path) -> None:
    deadline = time.monotonic() + 3
    while any(map(alive, pids)) or folder.exists():
        assert time.monotonic() < deadline, (
            f"still alive: {[p for p in pids if alive(p)]}, folder left: {folder.exists()}"
        )
        time.sleep(0.02)
    time.sleep(4.5)  # past the moment the grandchild would have written its file
    assert not later.exists(), "a grandchild outlived ttt and wrote its file"


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda n: n.name)
def test_the_whole_tree_dies_with_ttt(tmp_path: Path, number: signal.Signals) -> None:
    parent = start_parent(tmp_path, tree_script(tmp_path, "time.sleep(60)"))
    try:
        pids, folder = wait_for_tree(tmp_path)
        assert all(map(alive, pids)) and folder.is_dir()
        parent.send_signal(number)
        parent.wait(timeout=10)
        assert_all_gone(pids, folder, tmp_path / "later")
    finally:
        parent.kill()
        parent.communicate()


@pytest.mark.parametrize("then", ["print('done')", "time.sleep(60)"], ids=["normal-exit", "timeout"])
def test_the_whole_tree_dies_when_the_script_ends(tmp_path: Path, then: str) -> None:
    parent = start_parent(tmp_path, tree_script(tmp_path, then), timeout=2)
    try:
        output, _ = parent.communicate(timeout=20)
        pids, folder = wait_for_tree(tmp_path)
        assert ("timed out after 2 s" if "sleep" in then else "done") in output, output
        assert_all_gone(pids, folder, tmp_path / "later")
    finally:
        parent.kill()
