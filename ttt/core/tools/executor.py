"""Runs the tool calls a model asked for, safely.

Every failure (unknown tool, bad JSON, schema mismatch, permission, exception, timeout) becomes a
``ToolResult`` with ``error`` set, so the model can read what went wrong and the turn goes on.
Permissions: ``tools.permissions[name]`` > ``tools.permissions["category:<c>"]`` > the tool's default.
A call the tool flags (``Tool.ask_if``, e.g. a read of ``~/.ssh``) asks every time unless denied.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ttt.core.config import Permission, ToolsConfig
from ttt.core.errors import AIError
from ttt.core.tools.base import Tool, ToolOutput, validate_arguments
from ttt.core.tools.context import use_tools_config
from ttt.core.types import ToolCall, ToolResult, parse_arguments

Approval = Literal["yes", "no", "always"]
ApprovalCallback = Callable[[ToolCall, Tool], Approval | Awaitable[Approval]]
MAX_RESULT_CHARS = 20_000


def effective_permission(tool: Tool, config: ToolsConfig) -> Permission:
    """``permissions[name]`` > ``permissions["category:<c>"]`` > the tool's own default."""
    permissions = config.permissions
    return permissions.get(tool.name) or permissions.get(f"category:{tool.category}") or tool.permission


@dataclass
class _Ready:
    """A call that passed every check and may run (``call.arguments`` as sent, ``arguments`` as passed)."""

    call: ToolCall
    tool: Tool
    arguments: dict[str, Any]


class ToolExecutor:
    """Runs calls against the tools offered for one turn (or one chat: "always" answers last as long)."""

    def __init__(
        self,
        tools: Sequence[Tool],
        config: ToolsConfig | None = None,
        approve: ApprovalCallback | None = None,
    ) -> None:
        self.tools = {t.name: t for t in tools}
        self.config = config or ToolsConfig()
        self.approve = approve
        self._always: set[str] = set()

    def permission(self, tool: Tool) -> Permission:
        return effective_permission(tool, self.config)

    async def run(self, call: ToolCall) -> ToolResult:
        """Check and run one call. Never raises (except cancellation)."""
        prepared = await self._prepare(call)
        return prepared if isinstance(prepared, ToolResult) else await self._execute(prepared)

    async def run_all(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run several calls; results come back in call order.

        Approvals are asked one at a time, in order. Tools whose default permission is ``allow``
        (read-only by convention) run concurrently; any other tool waits for the calls before it
        to finish and runs alone, so a write and a later read keep the order the model chose.
        """
        results: list[ToolResult | None] = [None] * len(calls)

        async def execute(index: int, ready: _Ready) -> None:
            results[index] = await self._execute(ready)

        async with asyncio.TaskGroup() as group:
            running: list[asyncio.Task[None]] = []
            for index, call in enumerate(calls):
                prepared = await self._prepare(call)
                if isinstance(prepared, ToolResult):
                    results[index] = prepared
                elif prepared.tool.permission == "allow":
                    running.append(group.create_task(execute(index, prepared)))
                else:
                    if running:
                        await asyncio.wait(running)
                        running.clear()
                    await execute(index, prepared)
        return [r for r in results if r is not None]

    async def _prepare(self, call: ToolCall) -> _Ready | ToolResult:
        """Everything before running: lookup, arguments, permission and approval."""
        tool = self.tools.get(call.name)
        if tool is None:
            offered = ", ".join(self.tools) or "none"
            return _failure(call, f"unknown tool '{call.name}' (available tools: {offered})")
        try:
            if not call.arguments and call.raw_arguments:
                call = replace(call, arguments=parse_arguments(call.raw_arguments))
            arguments = validate_arguments(tool, call.arguments)
        except ValueError as exc:
            return _failure(call, f"invalid arguments for {tool.name}: {exc}")
        permission = self.permission(tool)
        if permission == "deny":
            return _failure(call, f"{tool.name} is denied by configuration", outcome="denied")
        with use_tools_config(self.config):
            flagged = tool.ask_if(arguments) if tool.ask_if else None
        if flagged or (permission == "ask" and tool.name not in self._always):
            refusal = await self._ask(call, tool, flagged)
            if refusal:
                return _failure(call, refusal, outcome="denied")
        return _Ready(call, tool, arguments)

    async def _ask(self, call: ToolCall, tool: Tool, flagged: str | None = None) -> str | None:
        """None when approved, else why not (``flagged``: why this call asks although allowed)."""
        if self.approve is None and flagged:
            return f"{tool.name} needs approval ({flagged}) and none could be asked: pass --yes"
        if self.approve is None:
            return (
                f"{tool.name} needs approval and none could be asked: pass --yes, or allow it in config "
                f'([tools.permissions] {tool.name} = "allow")'
            )
        try:
            answer = self.approve(call, tool)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            return f"approval for {tool.name} failed: {exc}"
        if answer == "always":
            self._always.add(tool.name)
        return None if answer in ("yes", "always") else f"the user declined to run {tool.name}"

    async def _execute(self, ready: _Ready) -> ToolResult:
        tool, arguments = ready.tool, ready.arguments
        timeout = tool.timeout or self.config.timeout
        started = time.perf_counter()
        try:
            with use_tools_config(self.config):
                if tool.is_async:
                    value = await asyncio.wait_for(tool.func(**arguments), timeout)
                else:
                    # A thread cannot be killed: on timeout the model gets its answer and the
                    # thread finishes in the background.
                    value = await asyncio.wait_for(asyncio.to_thread(tool.func, **arguments), timeout)
        except TimeoutError:
            return _failure(ready.call, f"{tool.name} timed out after {timeout:g} s", started, "timeout")
        except Exception as exc:
            return _failure(ready.call, _describe(exc), started)
        output = value if isinstance(value, ToolOutput) else ToolOutput(_as_text(value))
        if output.is_error:
            return _failure(ready.call, output.text or f"{tool.name} reported an error", started)
        return ToolResult(
            call_id=ready.call.id,
            name=tool.name,
            content=_truncate(output.text),
            duration=time.perf_counter() - started,
            arguments=ready.call.arguments,
            images=output.images,
        )


def _failure(
    call: ToolCall, message: str, started: float | None = None, outcome: str = "error"
) -> ToolResult:
    """An error result: ``error`` is the first line, ``content`` tells the model the whole story."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=_truncate(f"Error: {message}"),
        error=message.splitlines()[0] if message else "error",
        duration=0.0 if started is None else time.perf_counter() - started,
        arguments=call.arguments,
        outcome=outcome,
    )


def _describe(exc: Exception) -> str:
    """Our own and common errors already read well; others get their type name in front."""
    text = str(exc)
    if isinstance(exc, AIError | ValueError | OSError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple | int | float | bool):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... truncated: {len(text) - limit} more characters]"
