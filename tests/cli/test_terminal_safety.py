"""Nothing from outside reaches a terminal as a control sequence: ``ttt`` runs on a real pty
against the local Ollama server, which answers with the escape corpus (in replies cut into small
chunks, error bodies, model names, versions, tool calls), and the pty's bytes are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.escapes import HOSTILE, MARK, forbidden_in, raw_controls, ttt_on_pty
from tests.providers import OllamaServer, Reply
from tests.providers.ollama_server import OllamaModel

MODEL = "ollama/llama3.2"


def run(*args: str, answer: bytes | None = None, prompt: bytes = b"[a]lways: ") -> tuple[int, bytes]:
    """``ttt args`` on a pty: its exit code and every byte it wrote (stdout and stderr)."""
    terminal = ttt_on_pty(*args)
    try:
        if answer is not None:
            terminal.read(until=lambda out: prompt in out)
            terminal.write(answer)
        terminal.read()
    finally:
        code = terminal.close()
    return code, terminal.output


def chunks(text: str, size: int = 3) -> list[str]:
    """``text`` cut every ``size`` characters, so most sequences straddle a chunk edge."""
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("mode", [(), ("--raw",)], ids=["markdown", "raw"])
def test_a_hostile_reply_is_cleaned_on_a_terminal(ollama: OllamaServer, mode: tuple[str, ...]) -> None:
    ollama.script.push(Reply(chunks=chunks(HOSTILE)))
    code, output = run("-p", "hi", "-m", MODEL, *mode)
    assert code == 0, output
    assert forbidden_in(output) == []
    assert b"before" in output and b"after" in output
    assert b"<U+202E>evil<U+202C>" in output  # the override is shown, not obeyed


def test_a_hostile_error_body_is_cleaned_on_a_terminal(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(status=400, error_message=HOSTILE))
    code, output = run("-p", "hi", "-m", MODEL)
    assert code != 0
    assert b"before" in output and forbidden_in(output) == []


def test_the_tool_prompt_shows_arguments_verbatim_and_its_choices(ollama: OllamaServer) -> None:
    arguments = {"path": "notes.txt", "content": f"[conceal]rm -rf ~[/conceal] [bold]x {HOSTILE}"}
    ollama.script.push(Reply(tool_calls=[("write_file", arguments)]), Reply(text="done"))
    code, output = run("-p", "write it", "-m", "ollama/qwen3:8b", "--tools", "write_file", answer=b"n\n")
    assert code == 0, output
    assert b"[conceal]rm -rf ~[/conceal] [bold]x" in output
    assert b"[y]es / [n]o / [a]lways" in output
    assert forbidden_in(output, payloads=False) == []  # the arguments show as escaped JSON
    assert b"\\u001b]52;c;" in output
    assert not Path("notes.txt").exists()
    assert b"done" in output


HOSTILE_NAME = f"evil\x1b]0;{MARK}\x07\x9b2J\u202e:7b"


@pytest.fixture
def hostile_ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[OllamaServer]:
    """An Ollama server whose model name and version carry escape sequences."""
    model = OllamaModel(HOSTILE_NAME, capabilities=("completion", "tools"))
    with OllamaServer(models=[model]) as server:
        server.version = f"0.1\x1b]52;c;{MARK}\x07\x1b[2J"
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


def test_subcommands_print_provider_and_session_data_cleaned(hostile_ollama: OllamaServer) -> None:
    """Model lists, status, stats and stored sessions (titled and answered with the corpus)."""
    code, output = run("-p", HOSTILE, "-m", f"ollama/{HOSTILE_NAME}")  # the echo replies with it
    assert code == 0, output
    listed = subprocess.run(
        [sys.executable, "-m", "ttt", "sessions", "list", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    session = json.loads(listed.stdout)[0]["id"]
    for args, expected in (
        (["models"], b"evil"),
        (["status"], b"Ollama 0.1"),
        (["stats"], b"evil"),
        (["sessions", "list"], b"before"),
        (["sessions", "show", session], b"after"),
        (["sessions", "search", "before"], b"before"),
        (["sessions", "export", session], b"after"),
        (["sessions", "export", session, "--format", "json"], b"after"),
    ):
        code, output = run(*args)
        assert code == 0, (args, output)
        assert expected in output, (args, output)
        assert forbidden_in(output, payloads=args[-1] != "json") == [], args


def test_json_output_escapes_controls_and_stays_valid(hostile_ollama: OllamaServer) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def json_of(*args: str) -> object:
        result = subprocess.run(
            [sys.executable, "-m", "ttt", *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert raw_controls(result.stdout) == [], args
        return json.loads(result.stdout)

    reply = json_of("-p", HOSTILE, "-m", f"ollama/{HOSTILE_NAME}", "--json")
    assert HOSTILE in reply["text"]  # escaped, not lost
    session = reply["session_id"]
    assert f"ollama/{HOSTILE_NAME}" in [m["name"] for m in json_of("models", "--json")]
    json_of("status", "--json")
    json_of("stats", "--json")
    assert json_of("sessions", "list", "--json")[0]["title"].startswith("before")
    json_of("sessions", "show", session, "--json")
    json_of("sessions", "search", "before", "--json")
    json_of("sessions", "export", session, "--format", "json")
