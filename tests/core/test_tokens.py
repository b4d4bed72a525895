"""The one token estimate and pruning to a context window."""

from __future__ import annotations

from ttt.core import tokens
from ttt.core.tokens import count_tokens, floor_tokens, message_tokens, prune
from ttt.core.types import ImagePart, Message, ThinkingPart, ToolCall, ToolResult


def test_estimate_is_about_four_chars_per_token() -> None:
    assert message_tokens(Message.user("x" * 400)) == 100 + tokens.MESSAGE_OVERHEAD
    assert message_tokens(Message.user("")) == tokens.MESSAGE_OVERHEAD
    with_image = Message.user("hi", [ImagePart("image/png", data="A" * 10_000)])
    assert message_tokens(with_image) == 1 + tokens.MESSAGE_OVERHEAD + tokens.IMAGE_TOKENS
    thinking = Message("assistant", [ThinkingPart("t" * 4000)])
    assert message_tokens(thinking) == tokens.MESSAGE_OVERHEAD  # not sent back to models
    call = Message("assistant", [ToolCall("1", "read", {"path": "abc"})])
    assert message_tokens(call) > tokens.MESSAGE_OVERHEAD
    assert count_tokens([Message.user("x" * 40)] * 3) == 3 * (10 + tokens.MESSAGE_OVERHEAD)


def conversation() -> list[Message]:
    big = "w" * 400  # 100 tokens + overhead
    return [
        Message.system("rules"),
        Message.user("first " + big),
        Message.assistant("reply " + big),
        Message.user("use a tool"),
        Message("assistant", [ToolCall("c1", "search", {"q": big})]),
        Message("tool", [ToolResult("c1", "search", big)]),
        Message.assistant("tool answer"),
        Message.user("latest question"),
    ]


def test_prune_nothing_when_it_fits() -> None:
    messages = conversation()
    assert prune(messages, 10_000) == (messages, 0)


def test_prune_drops_oldest_turns_keeps_system_and_tool_pairs() -> None:
    messages = conversation()
    kept, dropped = prune(messages, count_tokens(messages) - 50)
    assert dropped == 2 and kept == [messages[0], *messages[3:]]
    kept, dropped = prune(messages, 100)
    assert dropped == 6 and kept == [messages[0], messages[-1]]


def test_prune_never_splits_a_tool_call_from_its_result() -> None:
    messages = conversation()
    for budget in range(0, count_tokens(messages) + 10, 7):
        kept, dropped = prune(messages, budget)
        assert kept[0].role == "system" and kept[-1] == messages[-1]
        assert len(kept) + dropped == len(messages)
        calls = {c.id for m in kept for c in m.tool_calls}
        results = {r.call_id for m in kept for r in m.tool_results}
        assert calls == results
        assert kept[1].role == "user"


def test_prune_keeps_newest_turn_even_if_too_long() -> None:
    messages = [Message.system("s"), Message.user("old"), Message.user("x" * 10_000)]
    kept, dropped = prune(messages, 40)
    assert kept == [messages[0], messages[2]] and dropped == 1


def test_floor_is_what_pruning_cannot_save() -> None:
    messages = conversation()
    assert floor_tokens(messages) == count_tokens([messages[0], messages[-1]])
    kept, _ = prune(messages, 0)
    assert count_tokens(kept) == floor_tokens(messages)
    assert floor_tokens([]) == 0


def test_routing_sizes_a_request_with_the_same_estimate() -> None:
    from ttt.core.config import Config
    from ttt.core.routing import features

    messages = conversation()
    feats = features(messages, Config())
    assert (feats.tokens, feats.floor) == (count_tokens(messages), floor_tokens(messages))
