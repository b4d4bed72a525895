"""``ttt -p --compare``: a JSON list into a pipe, exit 1 only if every model failed, 2 for bad usage."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_oneshot import ttt
from tests.providers import OllamaServer, OpenAIServer, Reply

BOTH = "ollama/llama3.2,openai/gpt-4o-mini"


def test_into_a_pipe_one_json_object_per_model(ollama: OllamaServer, openai: OpenAIServer) -> None:
    ollama.script.push(Reply(text="from ollama", usage=(5, 2)))
    openai.script.push(Reply(text="from openai", usage=(1_000_000, 1_000_000)))
    run = ttt("-p", "hi", "--compare", BOTH)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(r["model"], r["text"], r["error"]) for r in rows] == [
        ("ollama/llama3.2", "from ollama", None),
        ("openai/gpt-4o-mini", "from openai", None),
    ]
    assert rows[1]["cost"] == pytest.approx(0.75) and rows[0]["output_tokens"] == 2
    assert all(r["time_to_first_token"] is not None and r["session_id"] for r in rows)
    assert rows[0]["session_id"] == rows[1]["session_id"]  # one session, the replies side by side


def test_one_failed_model_still_exits_0_and_shows_its_error(
    ollama: OllamaServer, openai: OpenAIServer
) -> None:
    run = ttt("-p", "hi", "--compare", "ollama/missing,openai/gpt-4o-mini", "--json", "--no-save")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert rows[0]["error"].startswith("Model not found") and rows[1]["text"] == "You said: hi"


def test_all_failed_exits_1(ollama: OllamaServer) -> None:
    run = ttt("-p", "hi", "--compare", "ollama/missing,ollama/gone", "--json")
    assert run.returncode == 1, run.stderr
    assert [r["error"].split(":")[0] for r in json.loads(run.stdout)] == ["Model not found"] * 2


@pytest.mark.parametrize("models", ["ollama/llama3.2", "a/1,a/2,a/3,a/4,a/5", "ollama/llama3.2,nosuchmodel"])
def test_bad_usage_exits_2_before_asking(ollama: OllamaServer, models: str) -> None:
    run = ttt("-p", "hi", "--compare", models)
    assert run.returncode == 2 and "compare" in run.stderr.lower() and run.stdout == ""
    assert ollama.chat_requests == []


def test_model_flag_clashes(ollama: OllamaServer) -> None:
    run = ttt("-p", "hi", "--compare", BOTH, "-m", "ollama/llama3.2")
    assert run.returncode == 2 and "drop -m" in run.stderr
