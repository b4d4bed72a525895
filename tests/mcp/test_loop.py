"""The whole loop with real servers: the model (our Ollama/OpenAI test servers) asks for an MCP
tool, ttt calls the real server (mcp-server-time, mcp-server-git, our own), the result goes back
to the model, and the stored session keeps the call and the result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ttt
from tests.cli.test_oneshot import ttt as run_cli
from tests.mcp.conftest import BIN, ours, time_server, write_config
from tests.providers import OllamaServer, OpenAIServer, Reply


def tool_messages(body: dict) -> list[dict]:
    return [m for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("model", ["ollama/llama3.2", "openai/gpt-4o-mini"])
def test_time_server_answers_the_model(model: str, ollama: OllamaServer, openai: OpenAIServer) -> None:
    server = ollama if model.startswith("ollama") else openai
    ttt.configure(mcp={"servers": {"time": time_server(permission="allow")}})
    server.script.push(
        Reply(
            tool_calls=[
                (
                    "mcp__time__convert_time",
                    {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
                )
            ]
        ),
        Reply(text="It is 21:00 in Tokyo."),
    )
    response = ttt.ask("noon UTC in Tokyo?", model=model, tools=["mcp:time"])
    assert str(response).endswith("It is 21:00 in Tokyo.")
    [call] = response.tool_calls
    assert call.error is None and "T21:00:00+09:00" in call.content
    offered = [t["function"]["name"] for t in server.chat_requests[0].body["tools"]]
    assert offered == ["mcp__time__get_current_time", "mcp__time__convert_time"]
    [result] = tool_messages(server.chat_requests[1].body)
    assert result["content"] == call.content


def test_git_server_in_a_one_shot_is_stored_with_the_session(
    ollama: OllamaServer, git_repo: Path, isolated: Path
) -> None:
    write_config(
        Path.cwd(), git={"command": str(BIN / "mcp-server-git"), "args": ["--repository", str(git_repo)]}
    )
    ollama.script.push(
        Reply(tool_calls=[("mcp__git__git_status", {"repo_path": str(git_repo)})]),
        Reply(text="One file changed."),
    )
    result = run_cli(
        "-p", "what changed?", "-m", "ollama/llama3.2", "--tools", "mcp:git/git_status", "--yes", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [call] = data["tool_calls"]
    assert call["name"] == "mcp__git__git_status" and "notes.txt" in call["result"]
    [sent] = tool_messages(ollama.chat_requests[1].body)
    assert "notes.txt" in sent["content"]

    from ttt.core.session.store import Store

    with Store.default() as store:
        stored = [m.to_message() for m in store.history(data["session_id"])]
    [asked] = [p for m in stored for p in m.tool_calls]
    [kept] = [p for m in stored for p in m.tool_results]
    assert asked.name == kept.name == "mcp__git__git_status" and "notes.txt" in kept.content


def test_ask_is_denied_without_a_terminal_unless_yes(ollama: OllamaServer) -> None:
    write_config(Path.cwd(), time=time_server())
    for _ in range(2):
        ollama.script.push(
            Reply(tool_calls=[("mcp__time__get_current_time", {"timezone": "UTC"})]), Reply(text="ok")
        )
    denied = run_cli("-p", "time?", "-m", "ollama/llama3.2", "--tools", "mcp:time", "--json")
    [call] = json.loads(denied.stdout)["tool_calls"]
    assert "needs approval" in call["error"]
    allowed = run_cli("-p", "time?", "-m", "ollama/llama3.2", "--tools", "mcp:time", "--json", "--yes")
    [call] = json.loads(allowed.stdout)["tool_calls"]
    assert call["error"] is None and '"timezone": "UTC"' in call["result"]


def test_a_failing_server_is_a_note_and_the_turn_goes_on(ollama: OllamaServer) -> None:
    write_config(Path.cwd(), broken={"command": "no-such-mcp-server-anywhere"})
    ollama.script.push(Reply(text="Fine without it."))
    result = run_cli("-p", "hi", "-m", "ollama/llama3.2", "--tools", "mcp:broken,calculate")
    assert result.returncode == 0 and "Fine without it." in result.stdout
    assert "MCP server 'broken' failed" in result.stderr and "Traceback" not in result.stderr
    assert [t["function"]["name"] for t in ollama.chat_requests[0].body["tools"]] == ["calculate"]


def test_images_reach_a_vision_model_and_not_a_text_one(openai: OpenAIServer, ollama: OllamaServer) -> None:
    ttt.configure(mcp={"servers": {"t": ours(permission="allow")}})
    openai.script.push(Reply(tool_calls=[("mcp__t__picture", {})]), Reply(text="A dot."))
    ttt.ask("draw", model="openai/gpt-4o-mini", tools=["mcp:t/picture"])
    messages = openai.chat_requests[1].body["messages"]
    assert messages[-2]["role"] == "tool" and "[image: image/png" in messages[-2]["content"]
    assert messages[-1]["role"] == "user"
    assert messages[-1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")

    ollama.script.push(Reply(tool_calls=[("mcp__t__picture", {})]), Reply(text="ok"))
    ttt.ask("draw", model="ollama/llama3.2", tools=["mcp:t/picture"])  # known to lack vision
    sent = ollama.chat_requests[1].body["messages"]
    assert not any(m.get("images") for m in sent) and "[image: image/png" in sent[-1]["content"]


def test_one_shot_without_mcp_tools_never_imports_the_sdk(ollama: OllamaServer) -> None:
    write_config(Path.cwd(), time=time_server())
    ollama.script.push(Reply(text="hello"))
    code = (
        "import sys\nfrom ttt.cli import main\n"
        "code = main(['-p', 'hi', '-m', 'ollama/llama3.2', '--tools', 'calculate'])\n"
        "loaded = sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types', 'ttt.core.tools.mcp')))\n"
        "print(loaded, code, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().endswith("[] 0"), result.stderr
