"""Side-by-side comparison: one prompt to two to four models at once, each a turn of the one engine.

Each model runs in its own task, so one that fails or is slow never holds up the others. With a
stored session the prompt is stored once and each reply beside the others (sibling branches of
that prompt, written as they stream like any reply); the caller then keeps one as the active
branch with ``PersistentChatSession.switch``.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ttt.core.errors import AIError, ConfigurationError, InvalidRequestError, ModelNotFoundError
from ttt.core.types import AIResponse, Done, ErrorEvent, Message, StreamEvent

if TYPE_CHECKING:
    from ttt.core.session.persistent import PersistentChatSession

MIN_MODELS, MAX_MODELS = 2, 4

OnEvent = Callable[[int, StreamEvent], None]  # (index of the model, event)


@dataclass
class Compared:
    """One model's part of a comparison: its response or its error, and its stored reply."""

    model: str
    response: AIResponse | None = None
    error: AIError | None = None
    reply_id: int | None = None  # the stored reply (None when nothing was stored)

    @property
    def result(self) -> AIResponse | AIError:
        if self.response is not None:
            return self.response
        return self.error or AIError("The comparison was stopped before this model answered.")


def tokens_per_second(response: AIResponse) -> float | None:
    """Output tokens over the time they took to stream (after the first token), as compared."""
    streaming = response.seconds - (response.time_to_first_token or 0.0)
    return response.output_tokens / streaming if response.output_tokens and streaming > 0 else None


def summary(response: AIResponse) -> str:
    """One line of what makes models comparable: first token, speed, tokens, cost."""
    from ttt.core.metrics import format_cost, format_seconds

    rate = tokens_per_second(response)
    return (
        f"first token {format_seconds(response.time_to_first_token)} · "
        f"{'-' if rate is None else f'{rate:,.0f}'} tok/s · "
        f"{response.input_tokens:,} in / {response.output_tokens:,} out tokens · {format_cost(response.cost)}"
    )


def parse_models(models: str | Sequence[str]) -> list[str]:
    """The models to compare, from a list or ``"m1,m2"``; InvalidRequestError unless 2 to 4 distinct."""
    names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    if len(set(names)) != len(names):
        raise InvalidRequestError(f"Compare each model once, not {', '.join(names)}.")
    if not MIN_MODELS <= len(names) <= MAX_MODELS:
        raise InvalidRequestError(
            f"Compare {MIN_MODELS} to {MAX_MODELS} models, not {len(names)} (e.g. m1,m2)."
        )
    return names


async def check_models(models: Sequence[str]) -> None:
    """Refuse names no backend could serve before anything is sent (a model a server lacks is
    only known when it answers, and then shows as that model's error)."""
    from ttt.core.api import current_engine

    router = current_engine().router
    for name in models:
        try:
            await router.resolve(name)
        except (ModelNotFoundError, ConfigurationError) as error:
            raise InvalidRequestError(f"Can't compare '{name}': {error.message}") from None


async def run_comparison(
    prompt: str,
    models: str | Sequence[str],
    *,
    session: PersistentChatSession | None = None,
    on_event: OnEvent | None = None,
    **turn: Any,
) -> list[Compared]:
    """Ask every model at once; ``on_event`` sees each event as it arrives. Cancelling stops all
    (stored replies are kept, marked stopped). The session, if any, continues the first reply."""
    names = parse_models(models)
    await check_models(names)
    entries = [Compared(name) for name in names]
    if session is None:
        streams = [_events(prompt, name, turn) for name in names]
        await asyncio.gather(*(_collect(i, s, entries[i], on_event) for i, s in enumerate(streams)))
        return entries
    siblings = await asyncio.to_thread(_siblings, session, prompt, len(names))
    try:
        await asyncio.gather(
            *(
                _collect(i, sibling.regenerate_events(model=names[i], **turn), entries[i], on_event)
                for i, sibling in enumerate(siblings)
            )
        )
    finally:
        for entry, sibling in zip(entries, siblings, strict=True):
            sibling.close()
            entry.reply_id = sibling.leaf
    answered = [e.reply_id for e in entries if e.response is not None]
    kept = next((reply for reply in [*answered, *(e.reply_id for e in entries)] if reply), None)
    if kept is not None:
        session.switch(kept)
    return entries


async def _events(prompt: str, model: str, turn: dict[str, Any]) -> AsyncIterator[StreamEvent]:
    from ttt.core.api import events_async

    async with aclosing(events_async(prompt, model=model, **turn)) as events:
        async for event in events:
            yield event


async def _collect(
    index: int, events: AsyncIterator[StreamEvent], entry: Compared, on_event: OnEvent | None
) -> None:
    """One model's turn to its end; its failure is its own (kept in ``entry``), never raised."""
    try:
        async for event in events:
            if isinstance(event, Done):
                entry.response = event.response
            elif isinstance(event, ErrorEvent):
                error = event.error
                entry.error = error if isinstance(error, AIError) else AIError(str(error))
            if on_event is not None:
                on_event(index, event)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _siblings(session: PersistentChatSession, prompt: str, count: int) -> list[PersistentChatSession]:
    """Store the prompt once, then one session per model that asks it again: each reply is
    written beside the others, as it streams."""
    from ttt.core.session.persistent import PersistentChatSession

    store, record = session.store, session.record
    if not record.title:
        record.title = textwrap.shorten(" ".join(prompt.split()), 60, placeholder="…")
        store.rename(record.id, record.title)
    store.add_prompt(record.id, Message.user(prompt), session.leaf, store.newest(record.id))
    return [PersistentChatSession(store, record) for _ in range(count)]
