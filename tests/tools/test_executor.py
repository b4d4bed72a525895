"""The executor: every failure becomes an error result; permissions, approvals, concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from ttt.core.config import ToolsConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import Tool, tool
from ttt.core.tools.builtins import calculate, write_file
from ttt.core.tools.context import current_tools_config
from ttt.core.tools.executor import MAX_RESULT_CHARS, ToolExecutor
from ttt.core.types import ToolCall, ToolResult


@tool(register=False)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool(register=False)
def explode(reason: str) -> str:
    """Always fails."""
    raise ToolExecutionError(f"exploded: {reason}")


@tool(register=False)
def crash() -> str:
    """Fails with an unexpected error."""
    return {}["missing"]


@tool(register=False)
async def nap(seconds: float) -> str:
    """Sleep asynchronously."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@tool(register=False)
def huge() -> str:
    """A very long result."""
    return "x" * (MAX_RESULT_CHARS + 500)


@tool(register=False)
def info() -> dict[str, object]:
    """Structured output and the config this call sees."""
    return {"search_url": current_tools_config().search_url, "ok": True}


@tool(permission="ask", category="danger", register=False)
def launch(target: str) -> str:
    """Launch something."""
    return f"launched {target}"


@tool(permission="ask", category="danger", register=False)
async def detonate() -> str:
    """Another dangerous thing."""
    return "boom"


def call(name: str, index: int = 0, raw: str = "", **arguments: object) -> ToolCall:
    return ToolCall(id=f"call_{index}", name=name, arguments=dict(arguments), raw_arguments=raw)


def executor(*tools: Tool, config: ToolsConfig | None = None, approve=None) -> ToolExecutor:
    return ToolExecutor(list(tools), config or ToolsConfig(timeout=5), approve)


async def test_success_records_arguments_and_duration() -> None:
    result = await executor(add).run(call("add", a=2, b=3))
    assert result.ok and result.content == "5" and result.name == "add" and result.call_id == "call_0"
    assert result.arguments == {"a": 2, "b": 3} and result.duration >= 0


async def test_raw_json_arguments_are_parsed() -> None:
    result = await executor(add).run(call("add", raw='{"a": 1, "b": 41}'))
    assert result.ok and result.content == "42" and result.arguments == {"a": 1, "b": 41}
    seen: list[dict[str, object]] = []

    def approve(request: ToolCall, _tool: Tool) -> str:
        seen.append(request.arguments)
        return "yes"

    await executor(launch, approve=approve).run(call("launch", raw='{"target": "moon"}'))
    assert seen == [{"target": "moon"}]  # the approval prompt can show what will run


async def test_unknown_tool_is_an_error_result() -> None:
    result = await executor(add).run(call("rm_rf"))
    assert not result.ok
    assert result.error == "unknown tool 'rm_rf' (available tools: add)"
    assert result.content.startswith("Error: unknown tool") and result.outcome == "error"


async def test_tools_not_offered_cannot_run() -> None:
    result = await executor(add).run(call("calculate", expression="1+1"))
    assert not result.ok and "unknown tool 'calculate'" in result.content


async def test_invalid_json_is_an_error_result() -> None:
    result = await executor(add).run(call("add", raw='{"a": 1, "b": '))
    assert not result.ok and "not valid JSON" in result.error  # type: ignore[operator]
    result = await executor(add).run(call("add", raw="[1, 2]"))
    assert "must be a JSON object" in result.content


async def test_schema_mismatch_is_an_error_result() -> None:
    result = await executor(add).run(call("add", a="two", b=3))
    assert result.error == "invalid arguments for add: argument 'a' must be an integer, not 'two'"
    result = await executor(add).run(call("add", a=1))
    assert "missing required argument 'b'" in result.content


async def test_raising_tools_are_error_results() -> None:
    result = await executor(explode).run(call("explode", reason="on purpose"))
    assert result.error == "exploded: on purpose" and result.content == "Error: exploded: on purpose"
    result = await executor(crash).run(call("crash"))
    assert result.error == "KeyError: 'missing'"


async def test_async_tool_and_timeout() -> None:
    fast = await executor(nap).run(call("nap", seconds=0.01))
    assert fast.ok and fast.content == "slept 0.01"
    started = time.perf_counter()
    slow = await executor(nap, config=ToolsConfig(timeout=0.2)).run(call("nap", seconds=30))
    assert time.perf_counter() - started < 2
    assert slow.error == "nap timed out after 0.2 s" and 0.15 < slow.duration < 2
    assert (fast.outcome, slow.outcome) == ("ok", "timeout")


async def test_sync_tool_timeout_does_not_block_the_loop() -> None:
    release = threading.Event()

    @tool(register=False)
    def stuck() -> str:
        """Blocks until released."""
        release.wait(10)
        return "released"

    try:
        result = await executor(stuck, config=ToolsConfig(timeout=0.2)).run(call("stuck"))
        assert result.error == "stuck timed out after 0.2 s"
    finally:
        release.set()


async def test_results_are_text_and_truncated() -> None:
    result = await executor(huge).run(call("huge"))
    assert (
        len(result.content) < MAX_RESULT_CHARS + 100
        and "[... truncated: 500 more characters]" in result.content
    )
    structured = await executor(info, config=ToolsConfig(search_url="http://search.test")).run(call("info"))
    assert structured.content == '{"search_url": "http://search.test", "ok": true}'


async def test_config_is_visible_to_sync_and_async_tools_and_reset_afterwards() -> None:
    @tool(register=False)
    async def async_info() -> str:
        """The workspace as an async tool sees it."""
        return current_tools_config().workspace

    config = ToolsConfig(workspace="/somewhere", search_url="http://search.test")
    results = await executor(info, async_info, config=config).run_all(
        [call("info", 0), call("async_info", 1)]
    )
    assert "http://search.test" in results[0].content and results[1].content == "/somewhere"
    assert current_tools_config() == ToolsConfig()


# --- permissions ------------------------------------------------------------------------------


async def test_deny_by_name_and_by_category() -> None:
    denied = await executor(add, config=ToolsConfig(permissions={"add": "deny"})).run(call("add", a=1, b=2))
    assert denied.error == "add is denied by configuration" and denied.outcome == "denied"
    by_category = ToolsConfig(permissions={"category:custom": "deny"})
    assert not (await executor(add, config=by_category).run(call("add", a=1, b=2))).ok
    # a tool's own entry beats its category's
    both = ToolsConfig(permissions={"category:danger": "deny", "launch": "allow"})
    assert (await executor(launch, config=both).run(call("launch", target="x"))).ok


async def test_ask_without_a_callback_is_denied_with_a_hint() -> None:
    result = await executor(launch).run(call("launch", target="moon"))
    assert (
        not result.ok
        and "--yes" in result.content
        and '[tools.permissions] launch = "allow"' in result.content
        and result.outcome == "denied"
    )


async def test_category_permission_can_allow_an_ask_tool() -> None:
    allowed = ToolsConfig(permissions={"category:danger": "allow"})
    assert (
        await executor(launch, config=allowed).run(call("launch", target="moon"))
    ).content == "launched moon"
    asked = ToolsConfig(permissions={"category:custom": "ask"})
    assert "needs approval" in (await executor(add, config=asked).run(call("add", a=1, b=1))).content


@pytest.mark.parametrize(("answer", "ok"), [("yes", True), ("no", False)])
async def test_ask_yes_and_no(answer: str, ok: bool) -> None:
    seen: list[tuple[str, dict[str, object], str]] = []

    def approve(request: ToolCall, asked: Tool) -> str:
        seen.append((request.name, request.arguments, asked.category))
        return answer

    run = executor(launch, approve=approve)
    results = [await run.run(call("launch", i, target="moon")) for i in range(2)]
    assert [r.ok for r in results] == [ok, ok]
    assert seen == [("launch", {"target": "moon"}, "danger")] * 2  # asked every time
    if not ok:
        assert results[0].error == "the user declined to run launch"


async def test_always_is_remembered_for_that_tool_only() -> None:
    asked: list[str] = []

    async def approve(request: ToolCall, _tool: Tool) -> str:
        asked.append(request.name)
        return "always"

    run = executor(launch, detonate, approve=approve)
    for index in range(3):
        assert (await run.run(call("launch", index, target="moon"))).ok
    assert (await run.run(call("detonate", 9))).ok
    assert asked == ["launch", "detonate"]


async def test_a_failing_approval_callback_denies() -> None:
    def approve(_call: ToolCall, _tool: Tool) -> str:
        raise RuntimeError("no terminal")

    result = await executor(launch, approve=approve).run(call("launch", target="moon"))
    assert result.error == "approval for launch failed: no terminal"


async def test_builtins_keep_their_permissions_in_the_executor(tmp_path) -> None:
    config = ToolsConfig(workspace=str(tmp_path))
    result = await executor(write_file, calculate, config=config).run(
        call("write_file", path="a.txt", content="x")
    )
    assert not result.ok and not (tmp_path / "a.txt").exists()
    assert (await executor(calculate, config=config).run(call("calculate", expression="6*7"))).content == "42"


# --- several calls ----------------------------------------------------------------------------


async def test_run_all_is_concurrent_and_ordered() -> None:
    calls = [
        call("nap", 0, seconds=0.3),
        call("add", 1, a=1, b=1),
        call("nap", 2, seconds=0.3),
        call("nope", 3),
    ]
    started = time.perf_counter()
    results = await executor(nap, add).run_all(calls)
    assert time.perf_counter() - started < 0.55
    assert [r.call_id for r in results] == ["call_0", "call_1", "call_2", "call_3"]
    assert [r.ok for r in results] == [True, True, True, False]


async def test_run_all_asks_one_at_a_time_and_keeps_side_effects_in_order() -> None:
    events: list[str] = []
    active = 0

    async def approve(request: ToolCall, _tool: Tool) -> str:
        nonlocal active
        active += 1
        assert active == 1, "two approvals at once"
        events.append(f"ask {request.id}")
        await asyncio.sleep(0.05)
        active -= 1
        return "no" if request.id == "call_2" else "yes"

    @tool(permission="ask", register=False)
    async def record(label: str) -> str:
        """Record a side effect."""
        events.append(f"run {label}")
        return label

    calls = [call("record", i, label=str(i)) for i in range(4)]
    results = await executor(record, approve=approve).run_all(calls)
    assert [r.ok for r in results] == [True, True, False, True]
    assert events == ["ask call_0", "run 0", "ask call_1", "run 1", "ask call_2", "ask call_3", "run 3"]


def test_a_hand_made_error_result_is_not_ok() -> None:
    assert ToolResult("c", "t", "Error: x", error="x").outcome == "error"
    assert ToolResult("c", "t", "fine").outcome == "ok"
