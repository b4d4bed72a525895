"""The one token estimate, and pruning a conversation to a context window.

Routing (does the input fit a model?), pruning (what is left out?) and the app's context meter
all count with ``count_tokens``, so they agree. It runs before every turn and on every redraw of
the meter, so it is cheap: about four characters a token plus a small per-message overhead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ttt.core.types import ImagePart, Message, TextPart, ToolCall, ToolResult

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role and separators in chat templates
IMAGE_TOKENS = 765  # a typical high-detail image; providers vary


def message_tokens(message: Message) -> int:
    """Thinking is left out: backends don't send it back to the model."""
    chars, extra = 0, MESSAGE_OVERHEAD
    for part in message.parts:
        if isinstance(part, TextPart):
            chars += len(part.text)
        elif isinstance(part, ToolCall):
            chars += len(part.name) + len(part.raw_arguments or json.dumps(part.arguments))
        elif isinstance(part, ToolResult):
            chars += len(part.content) + len(part.error or "")
            extra += IMAGE_TOKENS * len(part.images)
        elif isinstance(part, ImagePart):
            extra += IMAGE_TOKENS
    return -(-chars // CHARS_PER_TOKEN) + extra


def count_tokens(messages: Sequence[Message]) -> int:
    """Estimated tokens ``messages`` take in a prompt."""
    return sum(message_tokens(m) for m in messages)


def _turns(messages: Sequence[Message]) -> list[list[int]]:
    """Indexes of the non-system messages, cut into turns: a user message and what follows it."""
    turns: list[list[int]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            continue
        if message.role == "user" or not turns:
            turns.append([])
        turns[-1].append(index)
    return turns


def floor_tokens(messages: Sequence[Message]) -> int:
    """Tokens no pruning can save: the system messages and the newest turn."""
    turns = _turns(messages)
    newest = set(turns[-1]) if turns else set()
    return sum(message_tokens(m) for i, m in enumerate(messages) if m.role == "system" or i in newest)


def prune(messages: Sequence[Message], budget: int) -> tuple[list[Message], int]:
    """Fit ``messages`` into ``budget`` tokens; returns (kept, how many left out).

    System messages always stay. The rest is cut into turns, so a tool call never loses its
    result and the kept history starts with a user message. The oldest turns go first; the
    newest turn always stays, even if it alone is too long (the provider then says so, rather
    than getting an empty prompt).
    """
    sizes = [message_tokens(m) for m in messages]
    if sum(sizes) <= budget:
        return list(messages), 0
    used = sum(size for size, m in zip(sizes, messages, strict=True) if m.role == "system")
    keep = {i for i, m in enumerate(messages) if m.role == "system"}
    for position, turn in enumerate(reversed(_turns(messages))):
        cost = sum(sizes[i] for i in turn)
        if position > 0 and used + cost > budget:
            break
        keep.update(turn)
        used += cost
    kept = [m for i, m in enumerate(messages) if i in keep]
    return kept, len(messages) - len(kept)
