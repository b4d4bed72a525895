"""What enters `ttt -p` from outside: bytes on stdin, attached files, a key's destination.

Real subprocesses against the local provider servers; input that ttt must refuse is refused
before any request is made, quickly, and without holding it all in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import KEY, REPO
from tests.providers import OllamaServer, OpenAIServer


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float  # the ttt process's own peak


# Runs ttt with `size` bytes of generated text on a pipe, then reports its exit code and peak
# memory. A child's peak counts its parent's memory at fork, so a small launcher, not pytest,
# is the parent; the input is made in chunks, never held whole.
LAUNCHER = """
import json, os, subprocess, sys, threading
size, seconds, report, argv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4:]
child = subprocess.Popen(argv, stdin=subprocess.PIPE)
watchdog = threading.Timer(seconds, child.kill)  # a regression fails instead of hanging
watchdog.daemon = True
watchdog.start()
chunk = b"word " * 200_000
try:
    for _ in range(size // len(chunk)):
        child.stdin.write(chunk)
    child.stdin.close()
except BrokenPipeError:  # it stopped reading: that is the point of some tests
    pass
_, status, usage = os.wait4(child.pid, 0)
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "max_rss_kb": usage.ru_maxrss}, out)
"""


def run_ttt(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None, timeout: float = 60) -> Run:
    """``ttt`` in a fresh interpreter, ``stdin`` on a pipe."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ttt", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )
    out, err = (result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace"))
    return Run(result.returncode, out, err, time.monotonic() - started, 0.0)


def run_fed(size: int, *args: str, tmp_path: Path, timeout: float = 60) -> Run:
    """``ttt`` fed ``size`` bytes of text, with its own peak memory measured."""
    report = tmp_path / "report.json"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            str(size),
            str(timeout),
            str(report),
            sys.executable,
            "-m",
            "ttt",
            *args,
        ],
        capture_output=True,
        timeout=timeout + 30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    seconds = time.monotonic() - started
    measured = json.loads(report.read_text())
    out, err = (result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace"))
    return Run(measured["code"], out, err, seconds, measured["max_rss_kb"] / 1024)  # KiB on Linux


@pytest.mark.parametrize("no_save", [False, True])
def test_invalid_utf8_on_stdin_is_replaced(no_save: bool, ollama: OllamaServer) -> None:
    result = run_ttt("-p", "x", "-m", "ollama/llama3.2", *(["-n"] if no_save else []), stdin=b"caf\xe9")
    assert result.returncode == 0, result.stderr
    assert ollama.chat_requests[-1].body["messages"][-1]["content"] == "x\n\ncaf\ufffd"
    assert "Traceback" not in result.stderr and result.stderr == ""


def test_stdin_alone_with_invalid_utf8(ollama: OllamaServer) -> None:
    result = run_ttt("-m", "ollama/llama3.2", stdin=b"\xff\xfe hello \xc3(\n")
    assert result.returncode == 0, result.stderr
    assert ollama.chat_requests[-1].body["messages"][-1]["content"] == "\ufffd\ufffd hello \ufffd("


def test_a_latin1_attachment_is_read_with_replacement(ollama: OllamaServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes("crème brûlée\n".encode("latin-1"))
    result = run_ttt("-p", "read", "-a", str(notes), "-m", "ollama/llama3.2")
    assert result.returncode == 0, result.stderr
    sent = ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert "cr\ufffdme br\ufffdl\ufffde" in sent


def test_huge_stdin_is_refused_unread_and_unsent(openai: OpenAIServer, tmp_path: Path) -> None:
    """30 MB is past what any known window could take (the biggest is ~1M tokens, ~4 MB)."""
    result = run_fed(30_000_000, "-p", "summarise", "-m", "openai/gpt-4o-mini", tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "The input on stdin is over" in result.stderr and "stopped reading" in result.stderr
    assert result.stderr.count("\n") == 1
    assert openai.requests == []
    assert result.max_rss_mb < 100, f"peak memory {result.max_rss_mb:.0f} MB"
    assert result.seconds < 30


def test_input_over_the_models_window_is_refused_before_sending(openai: OpenAIServer) -> None:
    """~1 MB is ~260k tokens: more than gpt-4o-mini's 128k."""
    result = run_ttt("-p", "summarise", "-m", "openai/gpt-4o-mini", "-n", stdin=b"word " * 200_000)
    assert result.returncode == 2, result.stderr
    assert "openai/gpt-4o-mini's 128,000-token context window" in result.stderr
    assert openai.chat_requests == []


def test_input_that_fits_still_goes(openai: OpenAIServer) -> None:
    result = run_ttt("-p", "summarise", "-m", "openai/gpt-4o-mini", "-n", stdin=b"word " * 20_000)
    assert result.returncode == 0, result.stderr
    assert len(openai.chat_requests) == 1


def test_a_key_over_plain_http_is_a_config_error(isolated: Path) -> None:
    """Through a proxy on a closed local port, so even a regression sends nothing off the machine."""
    proxy = "http://127.0.0.1:9"
    env = {
        "OPENAI_BASE_URL": "http://api.example.com/v1",
        "OPENAI_API_KEY": KEY,
        **{name: proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    result = run_ttt("-p", "hi", "-m", "openai/gpt-4o-mini", "-n", env=env)
    assert result.returncode == 2, result.stderr
    assert "OPENAI_BASE_URL" in result.stderr and "plain HTTP" in result.stderr
    assert KEY not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("-t", "nan", "must be a finite number, not nan"),
        ("-t", "inf", "must be a finite number, not inf"),
        ("-t", "5", "must be between 0 and 2, not 5"),
        ("--max-tokens", "0", "must be at least 1, not 0"),
    ],
)
def test_flag_values_are_checked_like_config_values(
    flag: str, value: str, problem: str, ollama: OllamaServer
) -> None:
    result = run_ttt("-p", "hi", "-m", "ollama/llama3.2", flag, value)
    assert result.returncode == 2
    assert result.stderr.endswith(f"{problem}\n")
    assert ollama.requests == []


def run_bytes(*args: str | bytes, env: dict[str, str] | None = None) -> Run:
    """``ttt`` with arguments that may be raw bytes, as a shell passes them."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "ttt", *args],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )
    out, err = (result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace"))
    return Run(result.returncode, out, err, time.monotonic() - started, 0.0)


@pytest.mark.parametrize(
    "args",
    [
        ("-p", b"caf\xe9"),
        (b"bare caf\xe9",),
        ("-p", "x", "-s", b"sys\xff"),
    ],
    ids=["-p", "words", "-s"],
)
def test_invalid_utf8_in_arguments_is_replaced(args: tuple[str | bytes, ...], ollama: OllamaServer) -> None:
    result = run_bytes(*args, "-m", "ollama/llama3.2")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    sent = json.dumps(ollama.chat_requests[-1].body["messages"])
    assert "\\ufffd" in sent and "\\udc" not in sent


def test_invalid_utf8_in_subcommand_arguments(ollama: OllamaServer) -> None:
    assert run_ttt("-p", "hello", "-m", "ollama/llama3.2").returncode == 0
    session = json.loads(run_ttt("sessions", "list", "--json").stdout)[0]["id"]
    for args in (
        ("sessions", "search", b"q\xff"),
        ("sessions", "rename", session, b"t\xff"),
        ("config", "set", "model", b"m\xff"),
    ):
        result = run_bytes(*args)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert "\\udc" not in result.stdout + result.stderr
