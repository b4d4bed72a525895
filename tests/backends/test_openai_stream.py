"""The shared chunk translator on server quirks the local servers do not produce."""

from __future__ import annotations

from typing import Any

from ttt.core.backends.openai_stream import ChunkTranslator
from ttt.core.types import Finish, StreamEvent, ThinkingDelta, ToolCallReady, ToolCallStart, Usage


def run(*chunks: dict[str, Any]) -> list[StreamEvent]:
    translator = ChunkTranslator()
    events = [event for chunk in chunks for event in translator.feed(chunk)]
    return events + list(translator.close())


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def test_server_reusing_index_zero_for_each_call() -> None:
    events = run(
        delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}}]),
        delta(tool_calls=[{"index": 0, "id": "b", "function": {"name": "g", "arguments": "{}"}}]),
        delta("stop"),
    )
    ready = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert [(c.id, c.name, c.arguments) for c in ready] == [("a", "f", {"x": 1}), ("b", "g", {})]
    assert [e.index for e in events if isinstance(e, ToolCallStart)] == [0, 1]
    assert events[-1] == Finish("tool_calls")  # calls were made even though the server said "stop"


def test_missing_ids_and_indexes_and_parsed_arguments() -> None:
    events = run(delta(tool_calls=[{"function": {"name": "f", "arguments": {"q": "x"}}}]))
    (call,) = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert (call.id, call.arguments, call.raw_arguments) == ("call_0", {"q": "x"}, '{"q": "x"}')


def test_broken_arguments_are_kept_raw() -> None:
    events = run(
        delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": '}}]),
        delta("tool_calls"),
    )
    (call,) = [e.call for e in events if isinstance(e, ToolCallReady)]
    assert (call.arguments, call.raw_arguments) == ({}, '{"x": ')


def test_reasoning_field_and_usage_only_chunk() -> None:
    events = run(
        delta(reasoning="why"),
        delta("length", content="ok"),
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    )
    assert events[0] == ThinkingDelta("why")
    assert events[-2:] == [Usage(3, 4), Finish("length")]
