"""The TUI's one door into the core: sessions, turns and models.

Widgets never touch ``ttt.core`` directly; they ask the controller. Sessions live in memory
(``ChatSession``) until the SQLite store is wired in — the methods marked ``STORE:`` are the
only places that change when ``PersistentChatSession``/``Store`` take over.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ttt.core import api
from ttt.core.errors import AIError
from ttt.core.session.chat import ChatSession
from ttt.core.types import Message, StreamEvent

_ids = itertools.count(1)


@dataclass
class SessionRecord:
    """What the sidebar shows for a session, and the live conversation behind it."""

    id: str
    title: str
    chat: ChatSession
    updated: float = field(default_factory=time.time)
    archived: bool = False

    @property
    def model(self) -> str:
        return self.chat.model or ""


class Controller:
    """Sessions and turns for one app; every method is cheap except ``events`` and ``list_models``."""

    def __init__(
        self,
        model: str | None = None,
        system: str | None = None,
        approve: Any = None,
        tools: Sequence[Any] = (),
    ) -> None:
        self.default_model = model
        self.default_system = system
        self.tools = list(tools)
        self.approve = approve
        self.sessions: list[SessionRecord] = []
        self.current = self.new_session()

    # --- sessions (STORE: replace the list with Store.list_sessions/create/rename/...) ----------

    def new_session(self, title: str = "New chat") -> SessionRecord:
        chat = ChatSession(
            model=self.default_model, system=self.default_system, tools=self.tools, approve=self._approve
        )
        record = SessionRecord(f"mem-{next(_ids)}", title, chat)
        self.sessions.insert(0, record)
        self.current = record
        return record

    def switch(self, session_id: str) -> SessionRecord:
        self.current = self.get(session_id)
        return self.current

    def get(self, session_id: str) -> SessionRecord:
        for record in self.sessions:
            if record.id == session_id:
                return record
        raise KeyError(session_id)

    def rename(self, session_id: str, title: str) -> None:
        self.get(session_id).title = title.strip() or "Untitled"

    def delete(self, session_id: str) -> None:
        self.sessions = [s for s in self.sessions if s.id != session_id]
        if not self.sessions:
            self.new_session()
        elif self.current.id == session_id:
            self.current = self.sessions[0]

    def archive(self, session_id: str) -> None:
        self.get(session_id).archived = True
        if self.current.id == session_id:
            visible = self.list_sessions()
            self.current = visible[0] if visible else self.new_session()

    def list_sessions(self, query: str = "") -> list[SessionRecord]:
        """Visible sessions, newest first; ``query`` matches titles and message text."""
        needle = query.strip().lower()
        found = [s for s in self.sessions if not s.archived]
        if needle:
            found = [s for s in found if needle in s.title.lower() or _mentions(s.chat.messages, needle)]
        return sorted(found, key=lambda s: s.updated, reverse=True)

    def messages(self, limit: int, before: int | None = None) -> tuple[list[Message], int]:
        """The newest ``limit`` shown messages before index ``before``, and the index of the first.

        STORE: becomes ``Store.messages(session_id, limit, before_id)``.
        """
        shown = self.current.chat.messages
        end = len(shown) if before is None else before
        start = max(0, end - limit)
        return shown[start:end], start

    def set_model(self, model: str) -> None:
        self.current.chat.model = model

    def set_system(self, system: str) -> None:
        self.current.chat.system = system or None

    def export(self, fmt: str) -> str:
        """The current session as Markdown or JSON."""
        chat = self.current.chat
        if fmt == "json":
            return json.dumps(
                {
                    "title": self.current.title,
                    "model": chat.model,
                    "messages": [_plain(m) for m in chat.messages],
                },
                indent=2,
            )
        lines = [f"# {self.current.title}", ""]
        for message in chat.messages:
            if message.text:
                lines += [f"## {message.role}", "", message.text, ""]
        return "\n".join(lines)

    # --- turns ----------------------------------------------------------------------------------

    async def events(self, prompt: str) -> AsyncIterator[StreamEvent]:
        """One turn of the current session; the title comes from the first prompt."""
        record = self.current
        if not record.chat.messages and record.title == "New chat":
            record.title = _title(prompt)
        record.updated = time.time()
        async for event in record.chat.events(prompt):
            yield event

    def keep_partial(self, session_id: str, text: str) -> None:
        """A reply that was stopped or broke off stays in the history as far as it got."""
        self.get(session_id).chat.messages.append(Message.assistant(text))

    def take_last_prompt(self) -> str | None:
        """Drop the last exchange and return its prompt, so it can be asked again."""
        messages = self.current.chat.messages
        for index in range(len(messages) - 1, -1, -1):
            if messages[index].role == "user":
                prompt = messages[index].text
                del messages[index:]
                return prompt
        return None

    def fork_at(self, index: int) -> str | None:
        """Start a new session holding the history before user message ``index``; returns its prompt."""
        source = self.current
        messages = source.chat.messages
        if not 0 <= index < len(messages) or messages[index].role != "user":
            return None
        record = self.new_session(f"{source.title} (edit)")
        record.chat.model = source.chat.model
        record.chat.system = source.chat.system
        record.chat.messages = list(messages[:index])
        return messages[index].text

    async def _approve(self, call: Any, tool: Any) -> str:
        if self.approve is None:
            return "no"
        return await self.approve(call, tool)

    # --- models ---------------------------------------------------------------------------------

    async def list_models(self) -> list[Any]:
        from ttt.core.inventory import list_models

        return await list_models(api.get_config())

    async def connection_problem(self) -> str | None:
        """Why no model can answer (``None`` when one can): routing the session's model, no request."""
        from ttt.core.routing import BackendPool, Router

        config = api.get_config()
        pool = BackendPool(config)
        try:
            await Router(config, pool).resolve(self.current.model or None)
        except AIError as error:
            return f"{error.title}: {error.message}"
        except Exception as error:  # a broken plugin must not stop the app from opening
            return f"{type(error).__name__}: {error}"
        finally:
            await pool.aclose()
        return None


def _mentions(messages: Sequence[Message], needle: str) -> bool:
    return any(needle in m.text.lower() for m in messages)


def _title(prompt: str) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else "New chat"
    return first[:40] + ("…" if len(first) > 40 else "")


def _plain(message: Message) -> dict[str, Any]:
    return {"role": message.role, "text": message.text}
