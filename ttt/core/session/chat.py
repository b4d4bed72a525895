"""Conversations with memory: ``ChatSession`` in memory, ``PersistentChatSession`` in the store.

Both run turns through the engine's one event stream (``events``); the persistent one also
writes each turn as it streams, so a crash loses at most the unfinished tail.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from ttt.core.api import AsyncTextStream, TextStream, build_messages, current_engine
from ttt.core.engine import TurnOptions
from ttt.core.errors import AIError
from ttt.core.loop import run_sync
from ttt.core.session.serialize import SessionRecord, Status
from ttt.core.session.store import Store
from ttt.core.types import (
    AIResponse,
    Done,
    ErrorEvent,
    Message,
    Part,
    RouteInfo,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCall,
    ToolCallReady,
    ToolResult,
    ToolResultEvent,
)


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
        try:
            async for event in current_engine().run(request, options):
                self._on_event(event)
                if isinstance(event, Done):
                    self.messages.extend(event.response.messages)
                    self.last_response = event.response
                yield event
        finally:
            self._on_end()

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

    def _on_end(self) -> None:
        """Called when a turn ends, however it ends (done, error, cancelled)."""

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
        params = record.params or {}
        options = {
            "model": record.model or None,
            "system": record.system or None,
            "temperature": params.get("temperature"),
            "max_tokens": params.get("max_tokens"),
            **options,
        }
        return cls(messages=[m.to_message() for m in stored], **options)

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


class PersistentChatSession(ChatSession):
    """A conversation in the store, written as it streams.

    The prompt is stored at once; a reply is stored in small batches while it arrives, each
    tool round as its own messages. A turn that is cancelled keeps its text, marked 'stopped';
    one that fails keeps it marked 'error'; one killed outright is marked 'interrupted' when the
    store is next opened.
    """

    def __init__(self, store: Store, record: SessionRecord, **options: Any) -> None:
        stored = [m for m in store.history(record.id) if not (m.status == "error" and not m.text)]
        params = record.params or {}
        super().__init__(
            **{
                "model": record.model or None,
                "system": record.system or None,
                "temperature": params.get("temperature"),
                "max_tokens": params.get("max_tokens"),
                **options,
                "messages": [m.to_message() for m in stored if m.role != "system"],
            }
        )
        self.store = store
        self.record = record
        self._leaf: int | None = stored[-1].id if stored else None
        self._reply: _Streaming | None = None
        self._results: list[ToolResult] = []
        self._model = ""

    @classmethod
    def open(
        cls, session_id: str | None = None, *, store: Store | None = None, title: str = "", **options: Any
    ) -> PersistentChatSession:
        """Resume ``session_id`` (a unique prefix is enough) or start a new stored session."""
        store = store or Store.default()
        if session_id is None:
            record = store.create_session(
                title, options.get("model") or "", options.get("system") or "", _params(options)
            )
        else:
            found = store.get_session(store.resolve(session_id))
            assert found is not None
            record = found
        return cls(store, record, **options)

    @property
    def id(self) -> str:
        return self.record.id

    def _on_user(self, message: Message) -> None:
        if not self.record.title:
            self.record.title = _title_from(message.text)
            self.store.rename(self.id, self.record.title)
        if self.model and self.model != self.record.model:
            self.record.model = self.model
            self.store.set_model(self.id, self.model)
        self._leaf = self.store.add_message(self.id, message, self._leaf)

    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, RouteInfo):
            self._model = event.model
        elif isinstance(event, TextDelta | ThinkingDelta):
            reply = self._open_reply()
            reply.add(event)
            self.store.append_reply(reply.id, event.text, thinking=isinstance(event, ThinkingDelta))
        elif isinstance(event, ToolCallReady):
            self._open_reply().calls.append(event.call)
        elif isinstance(event, ToolResultEvent):
            self._close_reply("complete")
            self._results.append(event.result)
        elif isinstance(event, Done):
            response = event.response
            self._close_reply(
                "complete", tokens=(response.input_tokens, response.output_tokens), cost=response.cost
            )
        elif isinstance(event, ErrorEvent):
            if self._reply is None:
                self._open_reply()
            self._close_reply("error", error=str(event.error))
        if self._results and not isinstance(event, ToolResultEvent):
            self._save_results()

    def _on_end(self) -> None:
        if self._results:
            self._save_results()
        self._close_reply("stopped")

    def _open_reply(self) -> _Streaming:
        if self._reply is None:
            if self._results:
                self._save_results()
            self._reply = _Streaming(self.store.begin_reply(self.id, self._leaf, self._model))
        return self._reply

    def _close_reply(
        self,
        status: Status,
        *,
        error: str | None = None,
        tokens: tuple[int, int] = (0, 0),
        cost: float | None = None,
    ) -> None:
        reply, self._reply = self._reply, None
        if reply is None:
            return
        self.store.finish_reply(
            reply.id, reply.parts(), status, error, input_tokens=tokens[0], output_tokens=tokens[1], cost=cost
        )
        self._leaf = reply.id

    def _save_results(self) -> None:
        results, self._results = self._results, []
        self._leaf = self.store.add_message(self.id, Message("tool", list(results)), self._leaf)

    def clear(self) -> None:
        """Start afresh in a new stored session; the old one stays in the store."""
        super().clear()
        self.record = self.store.create_session(
            "", self.model or "", self.system or "", _params(self.__dict__)
        )
        self._leaf = None

    def fork(self, at_message: int) -> PersistentChatSession:
        """A new stored session with the history up to and including message index ``at_message``."""
        stored = [m for m in self.store.history(self.id) if m.role != "system"]
        record = self.store.fork(self.id, stored[at_message].id)
        return PersistentChatSession(
            self.store, record, model=self.model, tools=self.tools, approve=self.approve
        )

    def _snapshot(self) -> tuple[Any, list[Any]]:
        record = self.store.get_session(self.id) or self.record
        return record, self.store.history(self.id)

    def close(self) -> None:
        self._on_end()


class _Streaming:
    """The reply being written: its id and the parts gathered so far."""

    def __init__(self, message_id: int) -> None:
        self.id = message_id
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.calls: list[ToolCall] = []

    def add(self, event: TextDelta | ThinkingDelta) -> None:
        (self.thinking if isinstance(event, ThinkingDelta) else self.text).append(event.text)

    def parts(self) -> list[Part]:
        parts: list[Part] = [ThinkingPart("".join(self.thinking))] if self.thinking else []
        if self.text or not self.calls:
            parts.append(TextPart("".join(self.text)))
        return [*parts, *self.calls]


def _params(options: dict[str, Any]) -> dict[str, Any]:
    return {k: options[k] for k in ("temperature", "max_tokens") if options.get(k) is not None}


def _title_from(prompt: str, limit: int = 60) -> str:
    line = " ".join(prompt.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def open_chat(*, session_id: str | None = None, persist: bool = False, **options: Any) -> ChatSession:
    """``chat()``'s implementation: in memory, or backed by the store when persisting or resuming."""
    if session_id is not None or persist:
        return PersistentChatSession.open(session_id, **options)
    return ChatSession(**options)
