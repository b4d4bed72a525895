"""`ttt` the way a shell runs it: prompts as bare words, readers that go away, Ctrl-C on a real pty."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pyte
import pytest

from tests.cli.test_oneshot import ttt
from tests.conftest import REPO
from tests.providers import OllamaServer, Reply

ENV = {"PYTHONPATH": str(REPO)}


def test_a_bare_prompt_is_asked(ollama: OllamaServer) -> None:
    result = ttt("what", "is", "-m", "ollama/llama3.2", "python?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: what is python?\n"


def test_a_bare_prompt_and_p_together_is_a_usage_error(ollama: OllamaServer) -> None:
    result = ttt("-p", "one", "two", "-m", "ollama/llama3.2")
    assert result.returncode == 2 and "give the prompt once" in result.stderr
    assert not ollama.chat_requests


def test_a_subcommand_name_is_still_the_subcommand() -> None:
    result = ttt("stats")
    assert result.returncode == 0 and "No requests recorded" in result.stdout


def _reader_gone(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``ttt`` writing into a pipe whose reader has already gone, as after ``| head``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ttt", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **ENV},
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, b"", err)


@pytest.mark.parametrize("args", [("models",), ("sessions", "list"), ("status",), ("-p", "hi")])
def test_a_closed_pipe_ends_quietly(args: tuple[str, ...], ollama: OllamaServer) -> None:
    assert ttt("-p", "a stored session", "-m", "ollama/llama3.2").returncode == 0
    result = _reader_gone(*args, *(("-m", "ollama/llama3.2") if args[0] == "-p" else ()))
    assert result.stderr == b"" and result.returncode == 141


def test_a_reply_into_head_stops_when_head_is_done(ollama: OllamaServer, tmp_path) -> None:
    """``ttt -p ... | head -c 20`` in a real shell: ttt stops soon after head exits, quietly."""
    ollama.script.push(Reply(text="word " * 100, token_delay=0.05))
    errors = tmp_path / "stderr"
    pipeline = f'"$0" -m ttt -p hi -m ollama/llama3.2 2>{errors} | head -c 20; echo " ${{PIPESTATUS[0]}}"'
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", pipeline, sys.executable],
        capture_output=True,
        env={**os.environ, **ENV},
        timeout=60,
    )
    assert result.stdout == b"word word word word  141\n"
    assert errors.read_text() == ""
    assert time.monotonic() - started < 100 * 0.05 * 0.8, "ttt kept streaming after its reader had gone"


# C0 controls a terminal ignores (ETX, the raw echo of Ctrl-C, among them); pyte would draw them.
_IGNORED_CONTROLS = re.compile(rb"[\x00-\x06\x10-\x17\x19\x1c-\x1f]")


def _on_a_pty(*args: str, interrupt_after: bytes, columns: int = 80) -> tuple[str, int]:
    """Run ``ttt`` on a pty as a user's terminal would, press Ctrl-C once ``interrupt_after`` has
    appeared, and return the screen as text and the exit code."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: SIGINT as in a shell's foreground job, whatever this process inherited
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, "-m", "ttt", *args], {**os.environ, **ENV})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    output, pressed, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:  # the child has gone: EIO on Linux
                break
            if not data:
                break
            output += data
        if not pressed and interrupt_after in output:
            os.write(fd, b"\x03")
            pressed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    screen = pyte.Screen(columns, 24)
    pyte.ByteStream(screen).feed(_IGNORED_CONTROLS.sub(b"", output))
    return "\n".join(line.rstrip() for line in screen.display if line.strip()), os.waitstatus_to_exitcode(
        status
    )


def test_ctrl_c_on_a_terminal_shows_the_partial_reply_once(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="partial " * 50, token_delay=0.1))
    screen, code = _on_a_pty("-p", "hi", "-m", "ollama/llama3.2", interrupt_after=b"partial partial partial")
    assert code == 130
    lines = screen.splitlines()
    assert lines[-1] == "ttt: interrupted"
    assert len(lines) == 2 and lines[0].startswith("partial partial partial"), screen


def test_a_one_megabyte_reply_on_a_terminal_takes_seconds_not_minutes(ollama: OllamaServer) -> None:
    """Live Markdown re-renders the whole reply on each refresh: its pace must follow the cost of
    a render, or a long reply makes the printer quadratic (a 1 MB reply ran for over half an hour)."""
    from tests.escapes import ttt_on_pty

    ollama.script.push(Reply(chunks=[f"word{i:04d} " * 5 for i in range(20_000)]))  # ~1 MB
    started = time.monotonic()
    terminal = ttt_on_pty("-p", "long", "-m", "ollama/llama3.2", "-n", env={"OLLAMA_HOST": ollama.url})
    try:
        terminal.read(timeout=90)
    finally:
        code = terminal.close()
    assert code == 0, terminal.output[-500:]
    assert b"word19999" in terminal.output
    assert time.monotonic() - started < 40
