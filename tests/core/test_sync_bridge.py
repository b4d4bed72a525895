"""The sync API's private loop never hangs: not in a forked child, not when called from its own
thread. Each case runs in its own interpreter with an alarm, so a regression fails (killed by
SIGALRM) instead of hanging the test run; the requests go to the project's Ollama server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO
from tests.providers import OllamaServer, Reply


def run(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter that kills itself (SIGALRM) after 40 s."""
    script = "import signal\nsignal.alarm(40)\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_a_forked_child_gets_a_loop_of_its_own(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="before fork"), Reply(text="in the child"), Reply(text="parent again"))
    result = run(
        """
        import json, os, signal, ttt
        first = ttt.ask("one", model="ollama/llama3.2").text
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)  # the child's own limit: a hang here must not outlive the test
            try:
                text = ttt.ask("two", model="ollama/llama3.2").text
            except BaseException as exc:
                text = f"error: {exc!r}"
            os.write(1, (json.dumps({"child": text}) + "\\n").encode())
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        third = ttt.ask("three", model="ollama/llama3.2").text
        print(json.dumps({"first": first, "child_exit": os.waitstatus_to_exitcode(status), "third": third}))
        """
    )
    assert result.returncode == 0, result.stderr
    child, parent = (json.loads(line) for line in result.stdout.splitlines())
    assert child == {"child": "in the child"}
    assert parent == {"first": "before fork", "child_exit": 0, "third": "parent again"}


def test_sync_ask_inside_an_async_tool_is_an_error_not_a_deadlock(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("nested", {"question": "q"})]),
        Reply(text="done anyway"),
        Reply(tool_calls=[("nested_async", {"question": "q"})]),
        Reply(text="inner answer"),
        Reply(text="done"),
    )
    result = run(
        """
        import json, ttt
        from ttt.core.tools.base import tool

        @tool(register=False)
        async def nested(question: str) -> str:
            \"\"\"Ask another model, wrongly: the sync API on ttt's own loop.\"\"\"
            return ttt.ask(question, model="ollama/llama3.2").text

        @tool(register=False)
        async def nested_async(question: str) -> str:
            \"\"\"Ask another model, as an async tool should.\"\"\"
            return (await ttt.ask_async(question, model="ollama/llama3.2")).text

        wrong = ttt.ask("x", model="ollama/llama3.2", tools=[nested])
        right = ttt.ask("y", model="ollama/llama3.2", tools=[nested_async])
        print(json.dumps({
            "wrong": [wrong.text, wrong.tool_calls[0].error],
            "right": [right.text, right.tool_calls[0].content],
        }))
        """
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    text, error = outcome["wrong"]
    assert text == "done anyway"
    assert "ask_async" in error and "async @tool" in error
    assert outcome["right"] == ["done", "inner answer"]
