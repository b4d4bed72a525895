"""A new user's first hour: the setups the README suggests, run as a user runs them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from tests.conftest import KEY, REPO
from tests.providers import OllamaServer, OpenAIServer, Reply

# What LM Studio or vLLM list: no OpenAI model names, and an embedding model first.
LOCAL_MODELS = ["text-embedding-nomic-embed-text-v1.5", "qwen2.5-7b-instruct", "llama-3.2-3b-instruct"]


@pytest.fixture
def lmstudio(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """A keyless OpenAI-compatible server, named by OPENAI_BASE_URL alone."""
    with OpenAIServer(LOCAL_MODELS) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        yield server


@pytest.fixture
def gpt_4o_mini_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """An OpenAI-compatible server with one of OpenAI's model names, and a key set."""
    with OpenAIServer(["gpt-4o-mini"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        yield server


def test_openai_base_url_alone_needs_no_key_and_no_model(lmstudio: OpenAIServer) -> None:
    result = ttt("-p", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi\n"
    assert [r.body["model"] for r in lmstudio.chat_requests] == ["qwen2.5-7b-instruct"]
    status = ttt("status")
    assert "default model: openai/qwen2.5-7b-instruct (served at OPENAI_BASE_URL)" in status.stdout
    assert "openai: reachable (3 models)" in status.stdout


def test_status_says_when_nothing_will_answer() -> None:
    """No key, no Ollama, and an offline runtime that isn't there."""
    Path("ttt.toml").write_text('[llamacpp]\nbinary = "/nonexistent/llama-server"\n', encoding="utf-8")
    result = ttt("status")
    assert result.returncode == 0
    assert "✗ default model: none. No model is available." in result.stdout


def test_auto_chooses_only_models_the_server_serves(gpt_4o_mini_only: OpenAIServer) -> None:
    """A code question: the rule prefers openai/gpt-4.1, which this server does not have."""
    result = ttt("-p", "Refactor this Python function: def f(x): return x", "-m", "auto", "--explain")
    assert result.returncode == 0, result.stderr
    assert "using openai/gpt-4o-mini" in result.stderr
    assert [r.body["model"] for r in gpt_4o_mini_only.chat_requests] == ["gpt-4o-mini"]
    listed = {m["name"]: m["available"] for m in json.loads(ttt("models", "--json").stdout)}
    assert listed["openai/gpt-4o-mini"] is True and listed["openai/gpt-4.1"] is False


def test_a_model_not_found_falls_through_the_chain(
    gpt_4o_mini_only: OpenAIServer, ollama: OllamaServer
) -> None:
    Path("ttt.toml").write_text('fallbacks = ["ollama/llama3.2"]\n', encoding="utf-8")  # cwd is the test's
    result = ttt("-p", "hi", "-m", "openai/gpt-4.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi\n"
    assert "using ollama/llama3.2: fallback after model not found" in result.stderr
    assert len(gpt_4o_mini_only.chat_requests) == 1 and len(ollama.chat_requests) == 1


def test_the_copied_example_config_keeps_a_working_setup(ollama: OllamaServer) -> None:
    shutil.copy(REPO / "ttt.toml.example", "ttt.toml")
    result = ttt("-p", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hi\n" and len(ollama.chat_requests) == 1


def test_a_one_shot_asks_ollama_only_for_its_list_and_the_chat(ollama: OllamaServer) -> None:
    """No `/api/show` per installed model on the way to a reply."""
    result = ttt("-p", "hi")
    assert result.returncode == 0, result.stderr
    assert [r.path for r in ollama.requests] == ["/api/tags", "/api/chat"]


def test_json_timings_are_the_ones_stats_records(ollama: OllamaServer) -> None:
    """Both count from when the request went to the backend: routing and start-up are not in them."""
    ollama.script.push(Reply(text="one two three", first_token_delay=0.3))
    data = json.loads(ttt("-p", "hi", "--json").stdout)
    stats = json.loads(ttt("stats", "--json").stdout)["models"]
    assert [(m["model"], m["requests"]) for m in stats] == [("ollama/llama3.2", 1)]
    assert data["time_to_first_token"] >= 0.3
    assert abs(data["time_to_first_token"] - stats[0]["ttft_p50"]) < 0.002
    assert abs(data["seconds"] - stats[0]["latency_p50"]) < 0.005


def test_auto_asks_ollama_about_each_model_once_across_runs(ollama: OllamaServer) -> None:
    """Model details are kept by digest: the next `-m auto` one-shot only lists and chats."""
    assert ttt("-p", "hi", "-m", "auto").returncode == 0
    assert [r.path for r in ollama.requests].count("/api/show") == 2
    ollama.reset()
    result = ttt("-p", "hi", "-m", "auto")
    assert result.returncode == 0, result.stderr
    assert [r.path for r in ollama.requests] == ["/api/tags", "/api/chat"]
