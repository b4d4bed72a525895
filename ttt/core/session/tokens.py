"""Token counts for history management, and pruning a conversation to a context window.

Counting runs before every turn, so it must be cheap: about four characters a token plus a small
per-message overhead. LiteLLM's exact counter is used only for models it knows and only when
LiteLLM is already imported (importing it costs about a second, too much for a count).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from ttt.core.types import ImagePart, Message, TextPart, ToolCall, ToolResult

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role and separators in chat templates
IMAGE_TOKENS = 765  # a typical high-detail image; providers vary


def _estimate(message: Message) -> int:
    """Thinking is left out: backends don't send it back to the model."""
    chars, extra = 0, MESSAGE_OVERHEAD
    for part in message.parts:
        if isinstance(part, TextPart):
            chars += len(part.text)
        elif isinstance(part, ToolCall):
            chars += len(part.name) + len(part.raw_arguments or json.dumps(part.arguments))
        elif isinstance(part, ToolResult):
            chars += len(part.content) + len(part.error or "")
        elif isinstance(part, ImagePart):
            extra += IMAGE_TOKENS
    return -(-chars // CHARS_PER_TOKEN) + extra


def _litellm_count(messages: Sequence[Message], model: str) -> int | None:
    litellm: Any = sys.modules.get("litellm")
    if litellm is None or not model or model not in getattr(litellm, "model_cost", {}):
        return None
    wire = [{"role": m.role, "content": _plain(m)} for m in messages]
    try:
        return int(litellm.token_counter(model=model, messages=wire))
    except Exception:  # any failure inside LiteLLM: the estimate is good enough
        return None


def _plain(message: Message) -> str:
    pieces = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ToolCall):
            pieces.append(f"{part.name}({part.raw_arguments or json.dumps(part.arguments)})")
        elif isinstance(part, ToolResult):
            pieces.append(part.content)
    return "\n".join(pieces)


def count_tokens(messages: Sequence[Message], model: str = "") -> int:
    """Tokens ``messages`` take in a prompt: exact for models LiteLLM knows, else an estimate."""
    exact = _litellm_count(messages, model)
    return exact if exact is not None else sum(_estimate(m) for m in messages)


def message_tokens(message: Message, model: str = "") -> int:
    return count_tokens([message], model)


def prune(
    messages: Sequence[Message], context_length: int, reserve: int = 0, model: str = ""
) -> tuple[list[Message], int]:
    """Fit ``messages`` into ``context_length - reserve`` tokens; returns (kept, how many dropped).

    System messages always stay. The rest is cut into turns — a user message and everything
    after it up to the next one — so a tool call never loses its result and the kept history
    starts with a user message. The oldest turns go first; the newest turn always stays, even
    if it alone is too long (the provider then says so, rather than getting an empty prompt).
    """
    budget = context_length - reserve
    sizes = [message_tokens(m, model) for m in messages]
    if sum(sizes) <= budget:
        return list(messages), 0
    turns: list[list[int]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            continue
        if message.role == "user" or not turns:
            turns.append([])
        turns[-1].append(index)
    used = sum(size for size, m in zip(sizes, messages, strict=True) if m.role == "system")
    keep = {i for i, m in enumerate(messages) if m.role == "system"}
    for position, turn in enumerate(reversed(turns)):
        cost = sum(sizes[i] for i in turn)
        if position > 0 and used + cost > budget:
            break
        keep.update(turn)
        used += cost
    kept = [m for i, m in enumerate(messages) if i in keep]
    return kept, len(messages) - len(kept)
