"""Conversations with memory: ``ChatSession`` in memory, ``PersistentChatSession`` in the store.

Both run turns through the engine's one event stream (``events``); the persistent one also
writes each turn as it streams, so a crash loses at most the unfinished tail.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from ttt.core.api import AsyncTextStream, TextStream, build_messages, current_engine
from ttt.core.engine import TurnOptions
from ttt.core.errors import AIError
from ttt.core.loop import run_sync
from ttt.core.types import AIResponse, Done, ErrorEvent, Message, StreamEvent


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

    # --- turns --------------------------------------------------------------------------------

    async def events(self, prompt: str, **turn: Any) -> AsyncIterator[StreamEvent]:
        """Run one turn and keep its messages; every event is passed on."""
        user = Message.user(prompt, turn.pop("images", None))
        history = build_messages(None, self.system, self.messages)
        request = self._fit([*history, user])
        self.messages.append(user)
        self._on_user(user)
        options = TurnOptions(
            model=turn.get("model", self.model),
            temperature=turn.get("temperature", self.temperature),
            max_tokens=turn.get("max_tokens", self.max_tokens),
            tools=turn.get("tools", self.tools),
            approve=turn.get("approve", self.approve),
        )
        async for event in current_engine().run(request, options):
            self._on_event(event)
            if isinstance(event, Done):
                self.messages.extend(event.response.messages)
                self.last_response = event.response
            yield event

    def _fit(self, messages: list[Message]) -> list[Message]:
        """Prune to the model's context window, keeping the system prompt and newest turns."""
        from ttt.core.models import model_registry
        from ttt.core.session.tokens import prune

        info = model_registry.get(self.model or "")
        if info is None:
            return messages
        kept, self.dropped = prune(messages, info.context_length, reserve=self.max_tokens or 1024)
        return kept

    async def ask_async(self, prompt: str, **turn: Any) -> AIResponse:
        async for event in self.events(prompt, **turn):
            if isinstance(event, Done):
                return event.response
            if isinstance(event, ErrorEvent):
                raise event.error
        raise AIError("the turn ended without a result")

    def ask(self, prompt: str, **turn: Any) -> AIResponse:
        return run_sync(self.ask_async(prompt, **turn))

    def stream_async(self, prompt: str, **turn: Any) -> AsyncTextStream:
        return AsyncTextStream(self.events(prompt, **turn))

    def stream(self, prompt: str, **turn: Any) -> TextStream:
        return TextStream(self.events(prompt, **turn))

    # --- hooks for the persistent subclass ------------------------------------------------------

    def _on_user(self, message: Message) -> None:
        """Called when a prompt is added."""

    def _on_event(self, event: StreamEvent) -> None:
        """Called for every event of a turn."""

    # --- history --------------------------------------------------------------------------------

    def clear(self) -> None:
        self.messages.clear()
        self.last_response = None

    def fork(self, at_message: int) -> ChatSession:
        """A new in-memory session with the history up to and including message ``at_message``."""
        clone = copy.copy(self)
        clone.messages = copy.deepcopy(self.messages[: at_message + 1])
        clone.last_response = None
        return clone

    def export(self, fmt: str = "json") -> str:
        from ttt.core.session import serialize

        return serialize.export_session(self._record(), self.messages, fmt)

    def _record(self) -> dict[str, Any]:
        return {"title": "", "model": self.model or "", "system": self.system or "", "params": self._params()}

    def _params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}

    def save(self, path: str | Path) -> None:
        """Write the conversation as versioned JSON (never pickle)."""
        Path(path).write_text(self.export("json"), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ChatSession:
        from ttt.core.session import serialize

        record, messages = serialize.read_session_file(Path(path))
        params = record.get("params") or {}
        return cls(
            model=record.get("model") or None,
            system=record.get("system") or None,
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
            messages=messages,
        )

    # --- context managers -----------------------------------------------------------------------

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> ChatSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release in memory; the persistent session flushes here."""


def open_chat(
    *, session_id: str | None = None, persist: bool = False, **options: Any
) -> ChatSession:
    """``chat()``'s implementation: in memory, or backed by the store when persisting or resuming."""
    if session_id is not None or persist:
        return PersistentChatSession.open(session_id, **options)
    return ChatSession(**options)
