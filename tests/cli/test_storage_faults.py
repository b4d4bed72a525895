"""`ttt -p` when keeping the conversation goes wrong: a full disk, private files, signals, two
processes continuing one session.

Each test runs the real command in a fresh process against the local Ollama server, with
TTT_HOME on a real filesystem (a small tmpfs where the disk must fill up).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.test_oneshot import spawn, ttt
from tests.conftest import REPO
from tests.providers import OllamaServer, Reply
from ttt.core.config import paths
from ttt.core.session.store import Store, StoredMessage
from ttt.core.types import ToolCall, ToolResult

MODEL = "ollama/llama3.2"
BIG = " ".join(f"word{i}" for i in range(130_000))  # about 1.2 MB


def big_reply() -> Reply:
    return Reply(chunks=[BIG[i : i + 64] for i in range(0, len(BIG), 64)])


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 512 KB tmpfs holding TTT_HOME; skipped only where this process may not mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    monkeypatch.setenv("TTT_HOME", str(mount / "home"))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def grow(mount: Path) -> None:
    """Make room again, as a user would, so the store can be opened and checked."""
    subprocess.run(["mount", "-o", "remount,size=16m", str(mount)], check=True)


def assert_reply_delivered(result: subprocess.CompletedProcess[str]) -> None:
    """The whole reply on stdout, exit 0 (the reply is what was asked for), one clear note."""
    assert result.stdout == BIG + "\n"
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "could not be saved" in lines[0] and "disk is full" in lines[0]


def assert_database_intact(path: Path) -> None:
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.execute("INSERT INTO parts_fts(parts_fts, rank) VALUES ('integrity-check', 1)")
    db.close()


def test_disk_fills_up_during_the_reply(small_disk: Path, ollama: OllamaServer) -> None:
    ollama.script.push(big_reply())
    result = ttt("-p", "tell me everything", "-m", MODEL)
    assert_reply_delivered(result)
    grow(small_disk)
    database = small_disk / "home" / "data" / "ttt.db"
    assert_database_intact(database)
    with Store(database) as store:
        session = store.latest_session()
        assert session is not None
        prompt, *reply = store.messages(session.id)
        assert prompt.text == "tell me everything" and prompt.status == "complete"
        # what was saved before the disk filled is kept, and marked as cut short
        assert len(reply) == 1 and reply[0].status == "interrupted" and BIG.startswith(reply[0].text)


def fill(mount: Path) -> None:
    with open(mount / "filler", "wb", buffering=0) as out, pytest.raises(OSError, match="No space"):
        while True:
            out.write(b"\0" * 4096)


def test_disk_already_full(small_disk: Path, ollama: OllamaServer) -> None:
    fill(small_disk)
    ollama.script.push(big_reply())
    result = ttt("-p", "tell me everything", "-m", MODEL)
    assert_reply_delivered(result)
    grow(small_disk)
    database = small_disk / "home" / "data" / "ttt.db"
    with Store(database) as store:  # usable again once there is room
        assert store.list_sessions() == []
        store.create_session("after")
    assert_database_intact(database)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_logs_and_config_are_private(isolated: Path, ollama: OllamaServer) -> None:
    """With the usual umask (022) every file ttt writes is the owner's alone, as `config set` was."""
    ollama.script.push("hello")
    old = os.umask(0o022)  # inherited by the child
    try:
        assert ttt("-p", "hi", "-m", MODEL, "--debug").returncode == 0
        assert ttt("config", "set", "model", MODEL).returncode == 0
    finally:
        os.umask(old)
    home = isolated
    assert mode(home) == 0o700
    for folder in ("data", "logs", "config"):
        assert mode(home / folder) == 0o700, folder
    assert mode(home / "logs" / "ttt.log") == 0o600
    assert mode(home / "config" / "config.toml") == 0o600
    database = home / "data" / "ttt.db"
    with Store(database):  # while it is open SQLite keeps its -wal and -shm files beside it
        for path in (database, database.with_name("ttt.db-wal"), database.with_name("ttt.db-shm")):
            assert mode(path) == 0o600, path.name


# --- signals mid-turn -----------------------------------------------------------------------------


def stored_turn() -> list[StoredMessage]:
    with Store(paths().database) as store:
        session = store.latest_session()
        assert session is not None
        return store.messages(session.id)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigterm_after_a_tool_round_keeps_the_call_and_its_result(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("get_current_time", {"timezone": "UTC"})]),
        Reply(text="too late", first_token_delay=30),  # the model is still thinking when TERM comes
    )
    process = spawn("-p", "what time is it?", "-m", MODEL, "--tools", "get_current_time", "-y")
    wait_for(lambda: len(ollama.chat_requests) == 2, "the request after the tool round")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err and b"stopped by SIGTERM" in err
    user, call, result = stored_turn()
    assert user.text == "what time is it?"
    assert call.role == "assistant" and [type(p) for p in call.parts] == [ToolCall]
    assert call.parts[0].name == "get_current_time"  # type: ignore[union-attr]
    assert result.role == "tool" and isinstance(result.parts[0], ToolResult)
    assert result.parts[0].name == "get_current_time" and result.parts[0].error is None
    assert result.parts[0].call_id == call.parts[0].id  # type: ignore[union-attr]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, "stopped"), (signal.SIGKILL, "interrupted")])
def test_a_tool_call_is_kept_when_ttt_is_stopped_while_the_tool_runs(
    ollama: OllamaServer, signum: int, status: str
) -> None:
    ollama.script.push(Reply(tool_calls=[("run_python", {"code": "import time; time.sleep(5)"})]))
    process = spawn("-p", "run it", "-m", MODEL, "--tools", "run_python", "-y")
    assert process.stderr is not None
    seen = b""
    while b"run_python(" not in seen:  # the call was announced: the tool is starting
        line = process.stderr.readline()
        assert line, f"ttt ended first: {seen!r}"
        seen += line
    time.sleep(0.5)
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode in (128 + signum, -signum)
    assert b"Traceback" not in err
    user, call = stored_turn()
    assert user.text == "run it" and call.status == status
    assert [p.name for p in call.parts if isinstance(p, ToolCall)] == ["run_python"]


# --- two processes continuing one session -----------------------------------------------------------

CONTINUER = """
import json, sys
sys.path.insert(0, {repo!r})
from ttt.core.session.persistent import PersistentChatSession
chat = PersistentChatSession.open({session!r}, model={model!r})  # loaded, as `--continue` does
print("loaded", flush=True)
sys.stdin.readline()  # meanwhile another ttt continues the same session
chat.ask("from the library")
chat.close()
print(json.dumps(chat.notices), flush=True)
"""


def test_two_processes_continuing_one_session_are_told_of_the_branch(ollama: OllamaServer) -> None:
    assert ttt("-p", "first question", "-m", MODEL).returncode == 0
    with Store(paths().database) as store:
        session = store.latest_session()
        assert session is not None
        first_answer = store.messages(session.id)[-1].id
    code = CONTINUER.format(repo=str(REPO), session=session.id, model=MODEL)
    other = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "loaded\n"
        cli = ttt("-p", "from the command line", "-m", MODEL, "--continue")
        out, err = other.communicate("go\n", timeout=60)
    finally:
        other.kill()
    assert cli.returncode == 0 and cli.stderr == "", cli.stderr  # it went first: nothing to say
    assert other.returncode == 0, err
    notices = json.loads(out)
    assert len(notices) == 1 and session.id in notices[0] and "separate branch" in notices[0]
    with Store(paths().database) as store:
        messages = store.messages(session.id)
    prompts = {m.text: m for m in messages if m.role == "user"}
    # both exchanges are kept, each after the answer its process saw: the session forked there
    assert prompts["from the command line"].parent_id == first_answer
    assert prompts["from the library"].parent_id == first_answer
    assert len(messages) == 6


def test_continuing_on_a_full_disk_says_the_disk_is_full(small_disk: Path, ollama: OllamaServer) -> None:
    """The earlier conversation can't be opened, so nothing is sent: one clear line, exit 1."""
    assert ttt("-p", "first", "-m", MODEL).returncode == 0
    fill(small_disk)
    result = ttt("-p", "second", "-m", MODEL, "--continue")
    assert result.returncode == 1 and result.stdout == ""
    assert "disk is full" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
