"""Function calling end to end: the model asks, ttt runs tools, the model continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ttt
from tests.cli.test_oneshot import ttt as run_cli
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.tools.base import tool
from ttt.core.types import ToolCallReady, ToolResultEvent

MODELS = ["ollama/llama3.2", "openai/gpt-4o-mini"]


def tool_messages(body: dict) -> list[dict]:
    return [m for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("model", MODELS)
def test_single_call_then_answer(model: str, ollama: OllamaServer, openai: OpenAIServer) -> None:
    server = ollama if model.startswith("ollama") else openai
    server.script.push(
        Reply(tool_calls=[("calculate", {"expression": "6*7"})]),
        Reply(text="It is 42."),
    )
    response = ttt.ask("what is 6*7?", model=model, tools=["calculate"])
    assert str(response).endswith("It is 42.")
    [call] = response.tool_calls
    assert (call.name, call.arguments, call.content, call.error) == (
        "calculate",
        {"expression": "6*7"},
        "42",
        None,
    )
    assert call.duration >= 0
    offered = server.chat_requests[0].body["tools"]
    assert [t["function"]["name"] for t in offered] == ["calculate"]
    [result] = tool_messages(server.chat_requests[1].body)
    assert result["content"] == "42"


def test_parallel_calls_in_one_reply(openai: OpenAIServer) -> None:
    openai.script.push(
        Reply(tool_calls=[("calculate", {"expression": "1+1"}), ("calculate", {"expression": "2+2"})]),
        Reply(text="2 and 4"),
    )
    response = ttt.ask("two sums", model="openai/gpt-4o-mini", tools=["calculate"])
    assert [c.content for c in response.tool_calls] == ["2", "4"]
    results = tool_messages(openai.chat_requests[1].body)
    assert [r["content"] for r in results] == ["2", "4"]
    calls = openai.chat_requests[1].body["messages"][-3]["tool_calls"]
    assert [c["id"] for c in calls] == [r["tool_call_id"] for r in results]


def test_multi_round_loop_and_streamed_events(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("calculate", {"expression": "2**10"})]),
        Reply(tool_calls=[("calculate", {"expression": "1024+1"})]),
        Reply(text="1025"),
    )

    async def collect() -> list:
        from ttt.core.api import events_async

        return [e async for e in events_async("go", model="ollama/llama3.2", tools=["calculate"])]

    from ttt.core.loop import run_sync

    events = run_sync(collect())
    kinds = [e.kind for e in events if isinstance(e, ToolCallReady | ToolResultEvent)]
    assert kinds == ["tool_call_ready", "tool_result", "tool_call_ready", "tool_result"]
    assert events[-1].response.text == "1025" and len(ollama.chat_requests) == 3


def test_round_limit_stops_the_loop(ollama: OllamaServer) -> None:
    ttt.configure(tools={"max_rounds": 2})
    ollama.script.push(*[Reply(tool_calls=[("calculate", {"expression": "1"})])] * 5)
    response = ttt.ask("loop forever", model="ollama/llama3.2", tools=["calculate"])
    assert response.finish_reason == "max_tool_rounds"
    assert len(ollama.chat_requests) == 3 and len(response.tool_calls) == 2


def test_plain_functions_and_async_tools(ollama: OllamaServer) -> None:
    def shout(text: str) -> str:
        """Upper-case some text."""
        return text.upper()

    @tool(register=False)
    async def whisper(text: str) -> str:
        """Lower-case some text."""
        return text.lower()

    ollama.script.push(
        Reply(tool_calls=[("shout", {"text": "hi"}), ("whisper", {"text": "HO"})]), Reply(text="done")
    )
    response = ttt.ask("x", model="ollama/llama3.2", tools=[shout, whisper])
    assert [c.content for c in response.tool_calls] == ["HI", "ho"]


@pytest.mark.parametrize(
    ("call", "error_words"),
    [
        (("delete_everything", {}), "unknown tool"),
        (("calculate", {"expr": "1"}), "expression"),
        (("calculate", {"expression": "1/0"}), "zero"),
        (("calculate", {"expression": "9**9**9"}), "too"),
    ],
)
def test_bad_calls_become_error_results_sent_back(ollama: OllamaServer, call, error_words: str) -> None:
    ollama.script.push(Reply(tool_calls=[call]), Reply(text="sorry"))
    response = ttt.ask("x", model="ollama/llama3.2", tools=["calculate"])
    assert str(response) == "sorry"
    [result] = response.tool_calls
    assert result.error and error_words in (result.error + result.content).lower()
    [sent] = tool_messages(ollama.chat_requests[1].body)
    assert sent["content"].startswith("Error")


def test_invalid_json_arguments_become_an_error_result(openai: OpenAIServer) -> None:
    openai.script.push(Reply(tool_calls=[("calculate", "{not json")]), Reply(text="ok"))  # type: ignore[list-item]
    response = ttt.ask("x", model="openai/gpt-4o-mini", tools=["calculate"])
    [result] = response.tool_calls
    assert result.error and "json" in result.error.lower()


def test_ask_permission_denies_without_a_callback(ollama: OllamaServer, isolated: Path) -> None:
    ollama.script.push(
        Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "hi"})]), Reply(text="ok")
    )
    response = ttt.ask("write", model="ollama/llama3.2", tools=["write_file"])
    assert response.tool_calls[0].error and not Path("x.txt").exists()


@pytest.mark.parametrize(("answer", "written"), [("yes", True), ("no", False), ("always", True)])
def test_approval_callback(ollama: OllamaServer, answer: str, written: bool) -> None:
    asked = []

    def approve(call, tool_):
        asked.append((call.name, call.arguments))
        return answer

    ollama.script.push(
        Reply(tool_calls=[("write_file", {"path": "x.txt", "content": "hi"})]), Reply(text="ok")
    )
    ttt.ask("write", model="ollama/llama3.2", tools=["write_file"], approve=approve)
    assert asked == [("write_file", {"path": "x.txt", "content": "hi"})]
    assert Path("x.txt").exists() is written


def test_config_permissions_allow_and_deny(ollama: OllamaServer) -> None:
    ttt.configure(tools={"permissions": {"category:file": "allow", "calculate": "deny"}})
    ollama.script.push(
        Reply(
            tool_calls=[("write_file", {"path": "y.txt", "content": "1"}), ("calculate", {"expression": "1"})]
        ),
        Reply(text="ok"),
    )
    response = ttt.ask("x", model="ollama/llama3.2", tools=["write_file", "calculate"])
    assert Path("y.txt").read_text() == "1"
    assert "denied" in (response.tool_calls[1].error or "")


def test_cli_tools_without_a_tty_deny_and_yes_allows(ollama: OllamaServer) -> None:
    call = ("write_file", {"path": "z.txt", "content": "1"})
    ollama.script.push(Reply(tool_calls=[call]), Reply(text="ok"))
    denied = run_cli("-p", "write", "-m", "ollama/llama3.2", "--tools", "write_file", "--json")
    assert denied.returncode == 0, denied.stderr
    assert json.loads(denied.stdout)["tool_calls"][0]["error"] and not Path("z.txt").exists()
    ollama.script.push(Reply(tool_calls=[call]), Reply(text="ok"))
    allowed = run_cli("-p", "write", "-m", "ollama/llama3.2", "--tools", "write_file", "--yes")
    assert allowed.returncode == 0 and Path("z.txt").read_text() == "1"
    assert "write_file" in allowed.stderr, "tool calls are shown to the user"


def test_cli_tools_all_and_listing(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("get_current_time", {"timezone": "Asia/Tokyo"})]), Reply(text="now")
    )
    result = run_cli("-p", "time in Tokyo?", "-m", "ollama/llama3.2", "--tools", "all", "--json")
    data = json.loads(result.stdout)
    assert data["tool_calls"][0]["name"] == "get_current_time" and "+09:00" in data["tool_calls"][0]["result"]
    offered = {t["function"]["name"] for t in ollama.chat_requests[0].body["tools"]}
    assert {"calculate", "read_file", "run_python", "http_request", "web_search"} <= offered
    listing = run_cli("tools", "--json")
    tools = {t["name"]: t for t in json.loads(listing.stdout)}
    assert tools["write_file"]["permission"] == "ask" and tools["read_file"]["permission"] == "allow"
    assert run_cli("-p", "x", "--tools", "nope").returncode == 2


def test_tool_call_ids_are_unique_across_rounds(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("calculate", {"expression": "1"})]),
        Reply(tool_calls=[("calculate", {"expression": "2"})]),
        Reply(text="done"),
    )
    response = ttt.ask("x", model="ollama/llama3.2", tools=["calculate"])
    ids = [c.call_id for c in response.tool_calls]
    assert len(ids) == 2 and len(set(ids)) == 2
