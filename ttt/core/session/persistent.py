"""``PersistentChatSession``: a conversation in the SQLite store, written as it streams.

Kept apart from ``ChatSession`` so that in-memory conversations never load the store.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ttt.core.errors import AIError, StoreError
from ttt.core.logs import get_logger
from ttt.core.loop import run_sync
from ttt.core.session import branches as branching
from ttt.core.session.chat import ChatSession, record_options, response_of
from ttt.core.session.database import ROOT
from ttt.core.text import title_from
from ttt.core.types import (
    AIResponse,
    Done,
    ErrorEvent,
    Message,
    Reply,
    RouteInfo,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallReady,
    ToolResult,
    ToolResultEvent,
)

if TYPE_CHECKING:
    from ttt.core.session.serialize import SessionRecord, Status, StoredMessage
    from ttt.core.session.store import Store


class PersistentChatSession(ChatSession):
    """A conversation in the store, written as it streams.

    The prompt is stored at once; a reply is stored in small batches while it arrives, each
    tool round as its own messages. A turn that is cancelled keeps its text, marked 'stopped';
    one that fails keeps it marked 'error'; one killed outright is marked 'interrupted' when the
    store is next opened. A store that fails (disk full) never stops a reply: the first failure
    ends saving, is kept in ``save_error`` and adds one line to ``notices`` for the user.
    """

    def __init__(
        self, store: Store | None, record: SessionRecord | None, *, title: str = "", **options: Any
    ) -> None:
        """Resume ``record``, or with None start a new session, stored with its first prompt.

        ``store`` None means the default store, opened when first needed and closed by ``close``."""
        self._own_store = store is None
        if store is None and record is not None:
            store = _default_store()
        history = [] if store is None or record is None else store.history(record.id)
        known = {} if record is None else record_options(record)
        super().__init__(**{**known, **options, "messages": context(history)})
        self._store = store
        self._record = record
        self._apply_summary(history)
        self._title = title
        self._lock = threading.RLock()  # the prompt is written from a worker thread
        self._leaf: int | None = history[-1].id if history else None  # ROOT: the next prompt starts a branch
        self._newest = store.newest(record.id) if store and record else None  # the last message we know of
        self._again: int | None = None  # a stored prompt the next turn asks again (``regenerate``)
        self._reply: _Streaming | None = None
        self._results: list[ToolResult] = []
        self._model = ""
        self.save_error: StoreError | None = None
        self.notices: list[str] = []  # what the user should hear about how the session was kept

    @classmethod
    def open(
        cls, session_id: str | None = None, *, store: Store | None = None, title: str = "", **options: Any
    ) -> PersistentChatSession:
        """Resume ``session_id`` (a unique prefix is enough) or start a new stored session."""
        if session_id is None:
            return cls(store, None, title=title, **options)
        lookup = store or _default_store()
        found = lookup.get_session(lookup.resolve(session_id))
        assert found is not None
        session = cls(lookup, found, **options)
        session._own_store = store is None
        return session

    @property
    def store(self) -> Store:
        """Where the session lives; the default store is opened on first use."""
        with self._lock:
            if self._store is None:
                self._store = _default_store()
            return self._store

    @property
    def record(self) -> SessionRecord:
        """The stored session; a new one is created on first use (normally with its first prompt)."""
        with self._lock:
            if self._record is None:
                params = _params(self.__dict__)
                self._record = self.store.create_session(
                    self._title, self.model or "", self.system or "", params
                )
            return self._record

    @property
    def id(self) -> str:
        return self.record.id

    def _save_prompt(self, message: Message) -> Awaitable[None] | None:
        """Opening the store costs more than sending the request: do both at once. The executor
        takes the job now, so it starts even while this thread is busy (e.g. importing a client).
        A prompt asked again is stored already: the reply goes beside its earlier replies."""
        if self._again is not None:
            with self._lock:
                self._leaf, self._again = self._again, None
            return None
        loop = asyncio.get_running_loop()
        return asyncio.shield(loop.run_in_executor(None, self._store_prompt, message))

    def _store_prompt(self, message: Message) -> None:
        self._keep(self._write_prompt, message)

    def _write_prompt(self, message: Message) -> None:
        with self._lock:
            if self._record is None:
                self._title = self._title or title_from(message.text)
            record = self.record
            if not record.title:
                record.title = title_from(message.text)
                self.store.rename(record.id, record.title)
            if self.model and self.model != record.model:
                record.model = self.model
                self.store.set_model(record.id, self.model)
            self._leaf, others = self.store.add_prompt(record.id, message, self._leaf, self._newest)
            self._newest = self._leaf
            if others:
                self.notices.append(
                    f"another ttt added to session {record.id} at the same time; "
                    "this exchange is kept as a separate branch beside it"
                )

    def _apply_summary(self, history: list[StoredMessage]) -> None:
        """Use the stored summary when the branch holds the message it ends at."""
        saved = self._record.params.get(SUMMARY_KEY) if self._record is not None else None
        ids = [m.id for m in in_context(history)]
        if isinstance(saved, dict) and saved.get("upto") in ids:
            self.summary, self.summarised = str(saved.get("text", "")), ids.index(saved["upto"]) + 1

    async def compact_async(self, keep_turns: int = 1) -> str:
        """As ``ChatSession.compact_async``, over the branch as stored (what reopening gives)."""
        if self._record is not None:
            self.messages = context(self.store.history(self.id, self._leaf))
        return await super().compact_async(keep_turns)

    def _save_summary(self, summary: str, cut: int) -> None:
        """The summary goes in the session's params, with the stored id of the last message it covers."""
        stored = in_context(self.store.history(self.id, self._leaf))
        params = {**self.record.params, SUMMARY_KEY: {"text": summary, "upto": stored[cut - 1].id}}
        self.store.set_params(self.id, params)
        self.record.params = params

    def _keep(self, write: Callable[..., None], *args: Any) -> None:
        """Run one write to the store; after the first failure, none (the reply goes on)."""
        if self.save_error is not None:
            return
        try:
            write(*args)
        except StoreError as error:
            self._failed(error)

    def _failed(self, error: StoreError) -> None:
        if self.save_error is None:
            self.save_error = error
            self.notices.append(f"this conversation could not be saved: {error.message}")
            log.warning("this session is no longer saved: %s", error)

    def _on_event(self, event: StreamEvent) -> None:
        self._keep(self._write_event, event)

    def _write_event(self, event: StreamEvent) -> None:
        if isinstance(event, RouteInfo):
            self._model = event.model
        elif isinstance(event, TextDelta | ThinkingDelta):
            reply = self._open_reply()
            reply.fold.add(event)
            self.store.append_reply(reply.id, event.text, thinking=isinstance(event, ThinkingDelta))
        elif isinstance(event, ToolCallReady):
            reply = self._open_reply()
            reply.fold.add(event)
            self.store.add_reply_part(reply.id, event.call)
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
        self._keep(self._write_end)

    def _write_end(self) -> None:
        if self._results:
            self._save_results()
        self._close_reply("stopped")

    def _open_reply(self) -> _Streaming:
        if self._reply is None:
            if self._results:
                self._save_results()
            self._reply = _Streaming(self.store.begin_reply(self.id, self._leaf, self._model))
            self._newest = self._reply.id
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
            reply.id,
            reply.fold.parts(),
            status,
            error,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            cost=cost,
        )
        self._leaf = reply.id

    def _save_results(self) -> None:
        results, self._results = self._results, []
        self._leaf = self._newest = self.store.add_message(
            self.id, Message("tool", list(results)), self._leaf
        )

    # --- branches -----------------------------------------------------------------------------

    @property
    def leaf(self) -> int | None:
        """Id of the message the next prompt follows: the end of the branch this session continues."""
        return self._leaf or None

    def branches(self) -> list[branching.Branch]:
        """Every branch of the stored conversation, oldest first; ``active`` marks the one continued."""
        return [] if self._record is None else branching.branches(self.store, self.id)

    def switch(self, message_id: int) -> None:
        """Continue the branch through message ``message_id``, to its newest message; ``messages``
        become that branch and the store remembers the choice. StoreError if it isn't here."""
        self._goto(branching.switch(self.store, self.id, message_id))

    def edit(self, message_id: int) -> Message:
        """Go back to before prompt ``message_id`` and return it: the next prompt is stored beside
        it, a new branch that becomes the active one. Nothing is stored until then."""
        prompt = self.store.get_message(message_id) if self._record is not None else None
        if prompt is None or prompt.session_id != self.id or prompt.role != "user":
            raise StoreError(f"Message {message_id} is no prompt of this session")
        self._goto(prompt.parent_id)
        return prompt.to_message()

    async def regenerate_events(self, **turn: Any) -> AsyncIterator[StreamEvent]:
        """Ask the branch's last prompt again (``events`` otherwise): the new reply is stored
        beside the earlier ones, a new branch that becomes the active one."""
        stored = self.store.history(self.id, self._leaf) if self._record is not None and self._leaf else []
        prompt = next((m for m in reversed(stored) if m.role == "user"), None)
        if prompt is None:
            yield ErrorEvent(AIError("There is no prompt to ask again yet."))
            return
        self._goto(prompt.parent_id)
        self._again = prompt.id
        message = prompt.to_message()
        async for event in self.events(message.text, images=message.images or None, **turn):
            yield event

    def regenerate(self, **turn: Any) -> AIResponse:
        """``regenerate_events`` to the end: the new reply, or its error raised."""
        return run_sync(response_of(self.regenerate_events(**turn)))

    def _goto(self, leaf: int | None) -> None:
        """Continue after message ``leaf`` (None: from the start, a new root branch)."""
        with self._lock:
            self._leaf = leaf or ROOT
            history = self.store.history(self.id, leaf) if leaf else []
            self.messages = context(history)
            self.summary, self.summarised = "", 0
            self._apply_summary(history)  # a summary counts only on the branch that holds what it covers

    def clear(self) -> None:
        """Start afresh in a new stored session (created with the next prompt); the old one stays."""
        super().clear()
        with self._lock:
            self._record, self._title = None, ""
        self._leaf = self._newest = None

    def fork(self, at_message: int) -> PersistentChatSession:
        """A new stored session with the history up to and including message index ``at_message``."""
        stored = [m for m in self.store.history(self.id) if m.role != "system"]
        record = self.store.fork(self.id, stored[at_message].id)
        store = None if self._own_store else self.store  # a default store of its own, closed with it
        return PersistentChatSession(store, record, model=self.model, tools=self.tools, approve=self.approve)

    def _snapshot(self) -> tuple[Any, list[Any]]:
        record = self.store.get_session(self.id) or self.record
        return record, self.store.history(self.id)

    def close(self) -> None:
        """End the turn's writes; a store the session opened itself is closed (reopened if used again)."""
        with self._lock:
            self._on_end()
            if self._own_store and self._store is not None:
                store, self._store = self._store, None
                try:
                    store.close()  # always closes; an unfinished reply it can't mark is marked on next open
                except StoreError as error:
                    self._failed(error)


@dataclass
class _Streaming:
    """The reply being written: its stored id and the events folded so far."""

    id: int
    fold: Reply = field(default_factory=Reply)


def context(stored: list[StoredMessage]) -> list[Message]:
    """What the model sees of a stored branch (before a summary and pruning apply)."""
    return [m.to_message() for m in in_context(stored)]


def in_context(stored: list[StoredMessage]) -> list[StoredMessage]:
    """The stored messages of a branch the model sees. A turn that failed before anything came
    back (an empty error reply) stays in the store and on screen, marked failed, but it and its
    prompt are left out here: asking again must not send the prompt twice."""
    kept: list[StoredMessage] = []
    for message in stored:
        if message.status == "error" and not message.text:
            if kept and kept[-1].role == "user":
                kept.pop()
        elif message.role != "system":
            kept.append(message)
    return kept


log = get_logger("session")
SUMMARY_KEY = "summary"  # in a session's params: {"text": ..., "upto": id of the last message covered}


def _default_store() -> Store:
    from ttt.core.session.store import Store

    return Store.default()


def _params(options: dict[str, Any]) -> dict[str, Any]:
    return {k: options[k] for k in ("temperature", "max_tokens") if options.get(k) is not None}
