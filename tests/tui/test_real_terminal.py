"""The real ``ttt`` app on a real terminal: invalid UTF-8 typed on a pty, and a hostile file read
by the model in tmux, whose pane title and paste buffers must stay as they were."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.escapes import HOSTILE, MARK, ttt_on_pty
from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL

REPLACEMENT = "\ufffd".encode()


def test_invalid_utf8_typed_shows_the_replacement_character(ollama: OllamaServer) -> None:
    """Textual's driver decoded input strictly: one Latin-1 byte ended the app (Textual #6456)."""
    terminal = ttt_on_pty("-m", MODEL)
    try:
        started = terminal.read(until=lambda out: b"Regenerate" in out, timeout=30)
        assert b"Regenerate" in started, started[-500:]
        terminal.write(b"caf\xe9 ok")  # a Latin-1 terminal's "café ok"
        shown = terminal.read(until=lambda out: REPLACEMENT in out[len(started) :], timeout=10)
        assert REPLACEMENT in shown[len(started) :]
        assert terminal.process.poll() is None, shown[-800:]
        terminal.write(b"\x11")  # Ctrl+Q
        terminal.read(timeout=15)
    finally:
        code = terminal.close()
    assert code == 0
    assert b"UnicodeDecodeError" not in terminal.output


class Tmux:
    """A tmux server of the test's own (its socket under tmp_path), one window running ``ttt``."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        command = ["tmux", "-S", str(self.socket), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout

    def wait(self, condition: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self("capture-pane", "-p", "-t", "ttt")
            if condition(screen) or time.monotonic() > deadline:
                return screen
            time.sleep(0.1)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("this test drives the app in tmux, which is not installed (apt install tmux)")
    server = Tmux(tmp_path / "tmux.sock")
    yield server
    server("kill-server")


def test_a_hostile_file_leaves_the_terminal_title_and_clipboard_alone(
    ollama: OllamaServer, tmux: Tmux
) -> None:
    Path("evil.txt").write_text(HOSTILE)
    reply = [HOSTILE[i : i + 3] for i in range(0, len(HOSTILE), 3)]
    ollama.script.push(Reply(tool_calls=[("read_file", {"path": "evil.txt"})]), Reply(chunks=reply))
    command = f"PYTHONPATH={REPO} {sys.executable} -m ttt -m ollama/qwen3:8b; sleep 30"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "ttt", "-x", "150", "-y", "45", command)
    tmux("set-option", "-g", "set-clipboard", "on")  # let an application's OSC 52 make a buffer
    tmux("set-option", "-g", "allow-rename", "on")
    title = tmux("display-message", "-p", "-t", "ttt", "#{pane_title}")
    assert "Regenerate" in tmux.wait(lambda screen: "Regenerate" in screen)
    tmux("send-keys", "-t", "ttt", "-l", "read evil.txt")
    tmux("send-keys", "-t", "ttt", "Enter")
    screen = tmux.wait(lambda screen: "after" in screen and len(ollama.chat_requests) >= 2)
    assert "before" in screen and "after" in screen, screen
    tmux("send-keys", "-t", "ttt", "C-t")  # the inspector, with the file's text in its card
    assert "Tool calls" in tmux.wait(lambda screen: "Tool calls" in screen)
    assert tmux("display-message", "-p", "-t", "ttt", "#{pane_title}") == title
    assert tmux("list-buffers") == ""
    assert MARK not in tmux("capture-pane", "-p", "-e", "-t", "ttt")
