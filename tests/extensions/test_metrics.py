"""Metrics in the store after a batch of requests with injected faults, and ``ttt stats``."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.cli.test_oneshot import ttt
from tests.extensions.conftest import write_config
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core import api, metrics
from ttt.core.config import paths
from ttt.core.errors import AIError
from ttt.core.types import TextDelta

CONFIG = "retries = 0\n[backends.cloud]\nretries = 1\n"  # quick failures; one retry on the cloud


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


async def attempt(prompt: str, **kwargs: Any) -> str:
    try:
        return (await api.ask_async(prompt, **kwargs)).text
    except AIError as error:
        return type(error).__name__


async def run_batch(local: OllamaServer, cloud: OpenAIServer) -> list[str]:
    """Ten turns: successes, a server error then a retry, a dropped stream, rate limits, a slow
    first token, tool calls (one failing) and an Ollama 500."""
    write_config(CONFIG)
    yes = {"approve": lambda call, tool: "yes"}
    cloud.script.push(
        Reply(text="one two", usage=(10, 2)),
        Reply(status=500, error_message="overloaded"),
        Reply(text="after retry", usage=(5, 2)),
        Reply(text="a b c d e f g h", disconnect_after=2),
        Reply(status=429, headers={"retry-after": "0"}),
        Reply(status=429, headers={"retry-after": "0"}),
        Reply(text="slow", first_token_delay=0.3),
    )
    local.script.push(
        Reply(text="local hi", usage=(3, 2)),
        Reply(tool_calls=[("add", {"a": 1, "b": 2}), ("explode", {"reason": "boom"})]),
        Reply(text="3, and one tool failed"),
        Reply(status=500),
    )
    return [
        await attempt("hi", model="openai/gpt-4o-mini"),
        await attempt("hi", model="openai/gpt-4o-mini"),
        await attempt("hi", model="openai/gpt-4o-mini"),
        await attempt("hi", model="openai/gpt-4o-mini"),
        await attempt("hi", model="openai/gpt-4o"),
        await attempt("hi", model="ollama/llama3.2"),
        await attempt("add", model="ollama/llama3.2", tools=[add, explode], **yes),
        await attempt("hi", model="ollama/llama3.2"),
    ]


def by_model(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in summary["models"]}


async def test_a_batch_with_faults_is_recorded_per_request(local: OllamaServer, cloud: OpenAIServer) -> None:
    results = await run_batch(local, cloud)
    assert results == [
        "one two",
        "after retry",
        "ProviderError",  # the stream dropped after output: not retried
        "RateLimitError",
        "slow",
        "local hi",
        "3, and one tool failed",
        "ProviderError",
    ]
    summary = metrics.summarize(paths().database)
    models = by_model(summary)
    mini = models["openai/gpt-4o-mini"]
    assert (mini["backend"], mini["requests"], mini["errors"]) == ("cloud", 6, 4)
    assert mini["input_tokens"] >= 15 and mini["cost"] is not None and mini["cost"] > 0
    assert mini["latency_p50"] is not None and mini["latency_p95"] >= mini["latency_p50"]
    assert models["openai/gpt-4o"]["ttft_p50"] >= 0.3
    llama = models["ollama/llama3.2"]
    assert (llama["backend"], llama["requests"], llama["errors"]) == ("local", 4, 1)
    assert summary["total"]["requests"] == 11 and summary["total"]["errors"] == 5
    errors = {e["type"]: e["count"] for e in summary["errors"]}
    assert errors == {"ProviderError": 3, "RateLimitError": 2}
    assert {b["backend"]: b["requests"] for b in summary["backends"]} == {"cloud": 7, "local": 4}
    tools = {t["name"]: t for t in summary["tools"]}
    assert tools["add"]["outcomes"] == {"ok": 1} and tools["explode"]["outcomes"] == {"error": 1}
    assert tools["add"]["duration_p50"] is not None


def test_ttt_stats_reports_the_same(local: OllamaServer, cloud: OpenAIServer) -> None:
    import asyncio

    asyncio.run(run_batch(local, cloud))
    metrics.drain()
    result = ttt("stats", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"]["requests"] == 11
    assert by_model(data)["openai/gpt-4o-mini"]["error_rate"] == pytest.approx(4 / 6, abs=1e-3)
    table = ttt("stats").stdout
    assert table.startswith("11 requests: 5 failed (45.5%)")
    assert "BACKEND  MODEL" in table and "ERROR" in table and "RateLimitError  2" in table
    assert "TOOL" in table and "explode" in table
    soon = (datetime.now() + timedelta(hours=1)).isoformat(timespec="seconds")
    assert json.loads(ttt("stats", "--json", "--since", soon).stdout)["total"]["requests"] == 0
    assert json.loads(ttt("stats", "--json", "--since", "1h").stdout)["total"]["requests"] == 11
    bad = ttt("stats", "--since", "last tuesday")
    assert bad.returncode == 2 and "is not a span like 1h" in bad.stderr


def test_stats_before_any_request() -> None:
    result = ttt("stats")
    assert result.returncode == 0 and result.stdout == "No requests recorded.\n"


async def test_a_cancelled_turn_is_recorded_as_cancelled(local: OllamaServer) -> None:
    local.script.push(Reply(text="a b c d e f g h i j", token_delay=0.05))
    events = api.events_async("hi", model="ollama/llama3.2")
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()
    metrics.drain()
    assert {e["type"] for e in metrics.summarize(paths().database)["errors"]} == {"Cancelled"}


async def test_metrics_can_be_turned_off(local: OllamaServer) -> None:
    write_config("metrics = false\n")
    await api.ask_async("hi", model="ollama/llama3.2")
    assert metrics.summarize(paths().database)["total"]["requests"] == 0


async def test_a_failed_write_is_logged_never_raised(
    local: OllamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    paths().database.mkdir(parents=True)  # a folder where the database should be
    with caplog.at_level(logging.WARNING, logger="ttt.metrics"):
        assert (await api.ask_async("hi", model="ollama/llama3.2")).text == "You said: hi"
        metrics.drain()
    assert "could not record metrics" in caplog.text


def test_the_store_has_the_metrics_tables(local: OllamaServer) -> None:
    api.ask("hi", model="ollama/llama3.2")
    metrics.drain()
    db = sqlite3.connect(paths().database)
    row = db.execute("SELECT backend, model, input_tokens > 0, error FROM metric_requests").fetchone()
    assert row == ("local", "ollama/llama3.2", 1, None)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("7d", 604800), ("2w", 1209600)]
)
def test_since_spans(text: str, seconds: int) -> None:
    assert metrics.parse_since(text, now=10_000_000) == 10_000_000 - seconds


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]
    assert (metrics.percentile(values, 50), metrics.percentile(values, 95)) == (10.0, 19.0)
    assert metrics.percentile([], 50) is None
