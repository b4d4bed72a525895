"""Conversations with memory: ``ChatSession`` in memory, ``PersistentChatSession`` in the store.

Both run turns through the engine's one event stream (``events``); the persistent one (in
``ttt.core.session.persistent``, importable from here too) also writes each turn as it streams,
so a crash loses at most the unfinished tail.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import aclosing
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from ttt.core.api import AsyncTextStream, TextStream, build_messages, current_engine, get_config
from ttt.core.errors import AIError
from ttt.core.loop import run_sync
from ttt.core.session.compact import compact_cut, with_summary
from ttt.core.types import (
    AIResponse,
    Done,
    ErrorEvent,
    Message,
    RouteInfo,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallReady,
    TurnOptions,
)

if TYPE_CHECKING:
    from ttt.core.context import ContextFit
    from ttt.core.session.serialize import SessionRecord


class ChatSession:
    """A conversation kept in memory. Sync and async methods share one turn implementation."""

    def __init__(
        self,
        *,
        model: str | None = None,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: Sequence[Any] = (),
        approve: Any = None,
        messages: Sequence[Message] = (),
    ) -> None:
        self.model = model
        self.system = system
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.tools = list(tools)
        self.approve = approve
        self.messages: list[Message] = list(messages)
        self.last_response: AIResponse | None = None
        self.dropped = 0  # messages left out of the last request to fit the context window
        self.summary = ""  # what ``compact`` made of the first ``summarised`` messages
        self.summarised = 0

    # --- turns --------------------------------------------------------------------------------

    async def events(
        self,
        prompt: str,
        turn: TurnOptions | None = None,
        *,
        images: list[Any] | None = None,
        attachments: Sequence[str | PathLike[str]] = (),
        **settings: Any,
    ) -> AsyncIterator[StreamEvent]:
        """Run one turn and keep its messages; every event is passed on.

        ``turn`` and keyword ``settings`` are a ``TurnOptions``; what they leave unset is the
        session's. ``attachments`` are file paths (images go to the model, text files into the
        prompt); ``private=True`` keeps the request on local models."""
        options = TurnOptions.of(turn, **settings).over(
            model=self.model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            tools=self.tools,
            approve=self.approve,
        )
        try:
            user = await _user_message(prompt, images, attachments)
        except AIError as error:  # an unusable attachment: nothing was sent or kept
            yield ErrorEvent(error)
            return
        request = [*self.context(), user]
        self.messages.append(user)
        self.dropped = 0
        saving = self._save_prompt(user)
        replied = False
        try:
            async with aclosing(current_engine().run(request, options)) as events:
                async for event in events:
                    if saving is not None and not isinstance(event, RouteInfo):
                        pending, saving = saving, None
                        await pending  # the prompt is stored before any of the reply
                    self._on_event(event)
                    if isinstance(event, RouteInfo):
                        self.dropped = event.left_out
                    replied = replied or isinstance(event, TextDelta | ThinkingDelta | ToolCallReady)
                    if isinstance(event, ErrorEvent) and not replied:
                        self.messages.remove(user)  # nothing came back: asking again must not repeat it
                    if isinstance(event, Done):
                        self.messages.extend(event.response.messages)
                        self.last_response = event.response
                    yield event
        finally:
            try:
                if saving is not None:
                    await saving
            finally:
                self._on_end()

    def context(self) -> list[Message]:
        """What the next turn sends before its prompt (the engine then prunes it to the model's
        window): the system prompt, the summary of compacted turns, and the messages after them."""
        summary, start = (self.summary, self.summarised) if self.summarised <= len(self.messages) else ("", 0)
        return build_messages(None, with_summary(self.system, summary), self.messages[start:])

    def context_fit(self, model: str) -> ContextFit:
        """How the next turn's context fits ``model`` (a routed name, e.g. ``RouteInfo.model``)."""
        from ttt.core.context import fit

        return fit(get_config(), model, self.context(), self.max_tokens)

    async def compact_async(self, keep_turns: int = 1) -> str:
        """Summarise all but the newest ``keep_turns`` turns with this session's model; the next
        turns send the summary instead of them (they stay in ``messages``). Returns the summary.
        On any error nothing changes."""
        from ttt.core.session.compact import summarise

        cut = compact_cut(self.messages, self.summarised, keep_turns)
        earlier = build_messages(
            None, with_summary(self.system, self.summary), self.messages[self.summarised : cut]
        )
        summary = await summarise(earlier, self.model)
        self._save_summary(summary, cut)
        self.summary, self.summarised = summary, cut
        return summary

    def compact(self, keep_turns: int = 1) -> str:
        return run_sync(self.compact_async(keep_turns))

    async def ask_async(self, prompt: str, **turn: Any) -> AIResponse:
        return await response_of(self.events(prompt, **turn))

    def ask(self, prompt: str, **turn: Any) -> AIResponse:
        return run_sync(self.ask_async(prompt, **turn))

    def stream_async(self, prompt: str, **turn: Any) -> AsyncTextStream:
        return AsyncTextStream(self.events(prompt, **turn))

    def stream(self, prompt: str, **turn: Any) -> TextStream:
        return TextStream(self.events(prompt, **turn))

    # --- hooks for the persistent subclass ------------------------------------------------------

    def _save_prompt(self, message: Message) -> Awaitable[None] | None:
        """Start keeping a prompt, while the request goes out; None when there is nothing to do."""
        return None

    def _on_event(self, event: StreamEvent) -> None:
        """Called for every event of a turn."""

    def _on_end(self) -> None:
        """Called when a turn ends, however it ends (done, error, cancelled)."""

    def _save_summary(self, summary: str, cut: int) -> None:
        """Keep a new summary of ``messages[:cut]``; raising leaves the session as it was."""

    # --- history --------------------------------------------------------------------------------

    def clear(self) -> None:
        self.messages.clear()
        self.last_response = None
        self.summary, self.summarised = "", 0

    def fork(self, at_message: int) -> ChatSession:
        """A new in-memory session with the history up to and including message ``at_message``."""
        clone = copy.copy(self)
        clone.messages = copy.deepcopy(self.messages[: at_message + 1])
        clone.last_response = None
        return clone

    def export(self, fmt: str = "json") -> str:
        """The conversation as versioned JSON (lossless) or readable Markdown."""
        from ttt.core.session import serialize

        record, stored = self._snapshot()
        if fmt in ("md", "markdown"):
            return serialize.export_markdown(record, stored)
        if fmt == "json":
            return serialize.export_json(record, stored)
        raise ValueError(f"unknown export format {fmt!r}: use 'json' or 'markdown'")

    def _snapshot(self) -> tuple[Any, list[Any]]:
        from ttt.core.session.serialize import SessionRecord, StoredMessage

        now = time.time()
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        record = SessionRecord("memory", "", self.model or "", self.system or "", params, now, now)
        stored = [
            StoredMessage(i + 1, record.id, m.role, list(m.parts), parent_id=i or None, created=now)
            for i, m in enumerate(self.messages)
        ]
        return record, stored

    def save(self, path: str | Path) -> None:
        """Write the conversation as versioned JSON (never pickle), atomically."""
        from ttt.core.session import serialize

        serialize.save_session(path, *self._snapshot())

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> ChatSession:
        """Read a file written by ``save`` (or ``ttt sessions export``) into a new session."""
        from ttt.core.session import serialize

        record, stored = serialize.load_session(path)
        return cls(messages=[m.to_message() for m in stored], **{**record_options(record), **options})

    # --- context managers -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release in memory; the persistent session flushes here."""


async def response_of(events: AsyncIterator[StreamEvent]) -> AIResponse:
    """A turn's result: its response, or its error raised."""
    async for event in events:
        if isinstance(event, Done):
            return event.response
        if isinstance(event, ErrorEvent):
            raise event.error
    raise AIError("the turn ended without a result")


def record_options(record: SessionRecord) -> dict[str, Any]:
    """A stored session's model, system prompt and parameters, as ``ChatSession`` options."""
    params = record.params or {}
    return {
        "model": record.model or None,
        "system": record.system or None,
        "temperature": params.get("temperature"),
        "max_tokens": params.get("max_tokens"),
    }


async def _user_message(
    prompt: str, images: list[Any] | None, attachments: Sequence[str | PathLike[str]]
) -> Message:
    """The prompt as a message, with its attachments read (off the event loop)."""
    if not attachments:
        return Message.user(prompt, images)
    from ttt.core.attachments import load

    loaded = await asyncio.to_thread(load, attachments, get_config().attachments)
    return Message.user(loaded.prompt(prompt), [*(images or []), *loaded.images])


def open_chat(*, session_id: str | None = None, persist: bool = False, **options: Any) -> ChatSession:
    """``chat()``'s implementation: in memory, or backed by the store when persisting or resuming."""
    if session_id is not None or persist:
        from ttt.core.session.persistent import PersistentChatSession

        return PersistentChatSession.open(session_id, **options)
    return ChatSession(**options)


def __getattr__(name: str) -> Any:
    """``PersistentChatSession`` on first use: importing it loads the store, which memory-only
    conversations never need."""
    if name == "PersistentChatSession":
        from ttt.core.session.persistent import PersistentChatSession

        return PersistentChatSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
