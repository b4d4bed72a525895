"""``Reply``: the one fold from stream events to an assistant message, shared by the engine,
the persistent session and ``BaseBackend.ask``."""

from __future__ import annotations

from ttt.core.types import (
    Finish,
    Reply,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCall,
    ToolCallReady,
    Usage,
)


def fold(*events: StreamEvent) -> Reply:
    reply = Reply()
    for event in events:
        reply.add(event)
    return reply


def test_parts_are_thinking_text_then_calls() -> None:
    call = ToolCall("c1", "search", {"q": "x"})
    reply = fold(TextDelta("Let me "), ThinkingDelta("hm"), TextDelta("look."), ToolCallReady(call))
    assert reply.parts() == [ThinkingPart("hm"), TextPart("Let me look."), call]


def test_empty_text_is_kept_unless_the_reply_is_only_calls() -> None:
    call = ToolCall("c1", "search")
    assert fold().parts() == [TextPart("")]
    assert fold(ToolCallReady(call)).parts() == [call]


def test_usage_adds_up_and_the_last_finish_wins() -> None:
    reply = fold(Usage(3, 4), Usage(1, 1, cost=0.5), Finish("length"))
    assert (reply.usage.input_tokens, reply.usage.output_tokens, reply.usage.cost) == (4, 5, 0.5)
    assert reply.finish == "length" and Reply().finish == "stop"
