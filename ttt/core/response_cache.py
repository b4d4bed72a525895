"""The optional response cache (``[sessions] cache = true``, off by default).

A request at temperature 0 with the same model, messages, tools and parameters as one answered
before (without tool calls) is answered from the store: ``RouteInfo`` with the reason "cached",
the text, and ``Done`` with ``AIResponse.cached``. No backend is asked and nothing is measured
as a request. The cache must never break a turn: a store that can't be used is a miss.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ttt.core.logs import get_logger
from ttt.core.types import (
    AIResponse,
    ChatRequest,
    Done,
    Message,
    RouteInfo,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
)

if TYPE_CHECKING:
    from ttt.core.routing import Route

log = get_logger("cache")


def key_for(model: str, request: ChatRequest) -> str:
    """The cache key of ``request`` sent to ``model`` (its full name, after routing)."""
    from ttt.core.session.serialize import message_to_dict
    from ttt.core.session.store import cache_key

    return cache_key(
        {
            "model": model,
            "messages": [message_to_dict(m) for m in request.messages],  # images by hash
            "tools": [dataclasses.asdict(spec) for spec in request.tools],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "options": request.options,
        }
    )


async def lookup(key: str) -> dict[str, Any] | None:
    """The stored answer for ``key``, or None."""
    return await asyncio.to_thread(_use, lambda store: store.cache_get(key))


async def remember(key: str, response: AIResponse) -> None:
    """Keep a finished answer (no tool calls in it) for the next identical request."""
    entry = {
        "text": response.text,
        "thinking": response.thinking,
        "finish_reason": response.finish_reason,
        "input_tokens": response.input_tokens,
        "output_tokens": response.output_tokens,
    }
    await asyncio.to_thread(_use, lambda store: store.cache_put(key, entry))


def replay(entry: dict[str, Any], route: Route, started: float) -> Iterator[StreamEvent]:
    """A stored answer as the events of a turn."""
    yield RouteInfo(route.model, route.backend, "cached")
    thinking = [ThinkingPart(entry["thinking"])] if entry.get("thinking") else []
    if thinking:
        yield ThinkingDelta(entry["thinking"])
    yield TextDelta(entry["text"])
    seconds = time.perf_counter() - started
    yield Done(
        AIResponse(
            text=entry["text"],
            model=route.model,
            backend=route.backend,
            input_tokens=entry.get("input_tokens", 0),
            output_tokens=entry.get("output_tokens", 0),
            cost=0.0,  # nothing was spent
            seconds=seconds,
            time_to_first_token=seconds,
            finish_reason=entry.get("finish_reason", "stop"),
            thinking=entry.get("thinking", ""),
            messages=[Message("assistant", [*thinking, TextPart(entry["text"])])],
            cached=True,
        )
    )


def _use(action: Any) -> Any:
    from ttt.core.config import paths
    from ttt.core.session.shared import shared_store

    try:
        return action(shared_store(paths().database))
    except Exception as exc:  # a broken store, a locked one beyond patience: answer as a miss
        log.warning("response cache unavailable: %s", exc)
        return None
