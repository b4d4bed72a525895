"""`ttt -p` as a user runs it: a real subprocess against the local provider servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import KEY, REPO
from tests.providers import OllamaServer, OpenAIServer, Reply


def ttt(
    *args: str, stdin: str | None = None, timeout: float = 60, site: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``ttt`` in a fresh interpreter, as a user runs it; ``site`` is a directory of installed
    plugins to put on its path."""
    path = [str(site), str(REPO)] if site else [str(REPO)]
    return subprocess.run(
        [sys.executable, "-m", "ttt", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
    )


def spawn(*args: str) -> subprocess.Popen[bytes]:
    """``ttt`` running, its stdout unbuffered so a test sees each write as it happens.

    SIGINT starts at its default, as in a shell's foreground job: a test run started in the
    background by a non-interactive shell (``make test &``) ignores SIGINT, every child inherits
    that, and Python then leaves Ctrl-C ignored."""
    return subprocess.Popen(
        [sys.executable, "-m", "ttt", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        bufsize=0,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_prompt_streams_the_reply_to_stdout(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Python is a language."))
    result = ttt("-p", "What is Python?", "-m", "ollama/llama3.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Python is a language.\n"
    assert ollama.chat_requests[-1].body["messages"][-1]["content"] == "What is Python?"


def test_tokens_reach_a_pipe_as_they_arrive(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="first " + "word " * 10, first_token_delay=0, token_delay=0.3))
    process = spawn("-p", "hi", "-m", "ollama/llama3.2")
    first = os.read(process.stdout.fileno(), 100)  # type: ignore[union-attr]
    first_at = time.monotonic()
    rest = process.stdout.read()
    done_at = time.monotonic()
    process.wait(timeout=30)
    assert first.startswith(b"first")
    assert done_at - first_at > 1.5, "output was buffered until the end instead of streamed"
    assert (first + rest).decode().strip() == ("first " + "word " * 10).strip()


def test_stdin_is_appended_to_the_prompt(ollama: OllamaServer) -> None:
    result = ttt("-p", "summarise this", "-m", "ollama/llama3.2", stdin="some long text\n")
    assert result.returncode == 0, result.stderr
    assert ollama.chat_requests[-1].body["messages"][-1]["content"] == "summarise this\n\nsome long text"


def test_stdin_alone_is_the_prompt(ollama: OllamaServer) -> None:
    result = ttt("-m", "ollama/llama3.2", stdin="what is 2+2?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: what is 2+2?\n"


def test_flags_reach_the_provider(openai: OpenAIServer) -> None:
    result = ttt("-p", "hi", "-m", "openai/gpt-4o-mini", "-s", "be terse", "-t", "0.3", "--max-tokens", "50")
    assert result.returncode == 0, result.stderr
    body = openai.chat_requests[-1].body
    assert body["messages"][0] == {"role": "system", "content": "be terse"}
    assert body["temperature"] == 0.3 and body.get("max_tokens", body.get("max_completion_tokens")) == 50


def test_json_output(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="answer", usage=(7, 2)))
    result = ttt("-p", "q", "-m", "ollama/llama3.2", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["text"] == "answer" and data["model"] == "ollama/llama3.2" and data["backend"] == "local"
    assert (data["input_tokens"], data["output_tokens"]) == (7, 2)
    assert data["finish_reason"] == "stop" and data["tool_calls"] == [] and data["seconds"] > 0
    assert "cost" in data


def test_piped_output_is_plain_and_keeps_model_text_verbatim(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="# Title\n[bold]not markup[/bold] **x**"))
    result = ttt("-p", "q", "-m", "ollama/llama3.2")
    assert result.stdout == "# Title\n[bold]not markup[/bold] **x**\n"


@pytest.mark.parametrize(
    ("reply", "code", "words"),
    [
        (Reply(status=500, error_message="kaput"), 1, "Provider error"),
        (Reply(status=429, error_message="slow", headers={"Retry-After": "0"}), 1, "Rate limited"),
        (Reply(text="one two three four", disconnect_after=2), 1, "dropped"),
    ],
)
def test_provider_errors_exit_1_with_one_clear_line(
    ollama: OllamaServer, reply: Reply, code: int, words: str
) -> None:
    ollama.script.push(*[reply] * 4)
    result = ttt("-p", "q", "-m", "ollama/llama3.2")
    assert result.returncode == code
    assert words.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_partial_reply_is_kept_when_the_stream_drops(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="one two three four", disconnect_after=2))
    result = ttt("-p", "q", "-m", "ollama/llama3.2")
    assert result.stdout.startswith("one two")


def test_unknown_model_is_a_clear_error() -> None:
    result = ttt("-p", "q", "-m", "gpt-4.1-mni")
    assert result.returncode == 1
    assert "Unknown model 'gpt-4.1-mni'" in result.stderr and "gpt-4.1-mini" in result.stderr


def test_missing_key_never_prints_a_value() -> None:
    result = ttt("-p", "q", "-m", "anthropic/claude-haiku-4-5")
    assert result.returncode == 2  # the user's setup: a configuration error
    assert "ANTHROPIC_API_KEY" in result.stderr and "Traceback" not in result.stderr


def test_the_missing_key_hint_is_printed_whole() -> None:
    result = ttt("-p", "q", "-m", "openai/gpt-4o-mini")
    assert result.returncode == 2
    assert "set OPENAI_API_KEY (export OPENAI_API_KEY=...)." in result.stderr
    assert "REDACTED" not in result.stderr


def test_invalid_key_is_not_echoed(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    secured = OpenAIServer(api_key="right-key").start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", secured.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = ttt("-p", "q", "-m", "openai/gpt-4o-mini")
    finally:
        secured.stop()
    assert result.returncode == 2 and "API key" in result.stderr
    assert KEY not in result.stderr and KEY not in result.stdout


def test_usage_errors_exit_2() -> None:
    assert ttt("-p", "q", "--temperature", "hot").returncode == 2
    result = ttt("-p", "")
    assert result.returncode == 2 and "empty prompt" in result.stderr


def test_bad_config_exits_2_naming_the_file(isolated, ollama: OllamaServer) -> None:
    (isolated.parent / "work" / "ttt.toml").write_text("[tools]\ntimeout = 'soon'\n")
    result = ttt("-p", "q", "-m", "ollama/llama3.2")
    assert result.returncode == 2
    assert "ttt.toml, line 2: 'tools.timeout' must be a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_refuses_cloud_models() -> None:
    result = ttt("-p", "q", "-m", "openai/gpt-4o-mini", "--offline")
    assert result.returncode == 2 and "offline" in result.stderr


def test_version_and_help() -> None:
    import ttt as package

    assert ttt("--version").stdout.strip() == f"ttt {package.__version__}"
    help_text = ttt("--help").stdout
    for flag in ("--model", "--system", "--temperature", "--max-tokens", "--json", "--raw", "--offline"):
        assert flag in help_text


@pytest.mark.parametrize("model", ["ollama/llama3.2", "openai/gpt-4o-mini"])
def test_one_shot_never_loads_textual_or_litellm(
    model: str, ollama: OllamaServer, openai: OpenAIServer
) -> None:
    code = (
        "import sys; from ttt.cli import main; "
        f"rc = main(['-p', 'hi', '-m', '{model}']); "
        "loaded = [m for m in ('textual', 'litellm', 'ttt_tui') if m in sys.modules]; "
        "assert rc == 0 and not loaded, (rc, loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.usefixtures("clean_logging")
def test_a_one_shot_reads_the_config_once(
    ollama: OllamaServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from ttt.cli import main
    from ttt.core.config_loaders import register_loader, unregister_loader

    loads: list[int] = []

    class Counting:
        def load(self) -> dict[str, object]:
            loads.append(1)
            return {}

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    register_loader("counting", Counting())
    try:
        assert main(["-p", "hi", "-m", "ollama/llama3.2"]) == 0
    finally:
        unregister_loader("counting")
    assert capsys.readouterr().out == "You said: hi\n"
    assert len(loads) == 1


def test_a_one_shot_leaves_its_metrics_and_log_behind(ollama: OllamaServer) -> None:
    """It ends with os._exit: what was queued must be written first."""
    from ttt.core.config import paths

    assert ttt("-p", "hi", "-m", "ollama/llama3.2", "--debug").returncode == 0
    assert json.loads(ttt("stats", "--json").stdout)["total"]["requests"] == 1
    assert "turn done: ollama/llama3.2" in (paths().log_dir / "ttt.log").read_text()


def test_interrupt_exits_130_and_keeps_printed_text(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="partial " * 50, token_delay=0.1))
    process = spawn("-p", "hi", "-m", "ollama/llama3.2")
    first = os.read(process.stdout.fileno(), 100)  # type: ignore[union-attr]
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert (first + out).decode().startswith("partial")
    assert b"Traceback" not in err
