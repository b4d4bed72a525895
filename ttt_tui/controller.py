"""The TUI's one door into the core: sessions (in the SQLite store), turns and models.

Widgets never touch ``ttt.core`` directly; they ask the controller, and what it hands out for
the screen has passed the sanitiser (``screen_text``): titles, messages, tool calls, models,
routes and the turn's events. A new session is a draft
until its first prompt, so opening ttt or pressing Ctrl+N never leaves empty sessions behind.
A store that can't be opened (damaged, read-only, from a newer ttt) is reported once and a
throw-away store in a temporary folder takes its place, so the app keeps working for this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ttt.core import api
from ttt.core.errors import AIError, StoreError
from ttt.core.sanitize import terminal_safe
from ttt.core.session import branches
from ttt.core.session.branches import BranchPoint
from ttt.core.session.chat import ChatSession
from ttt.core.session.persistent import PersistentChatSession, in_context
from ttt.core.session.store import SessionRecord, Store, StoredMessage
from ttt.core.text import title_from
from ttt.core.types import ImagePart, StreamEvent
from ttt_tui.screen_text import SafeStream, screen_safe

if TYPE_CHECKING:
    from ttt.core.routing import Route

NEW_TITLE = "New chat"
MARKS = ("\ue000", "\ue001")  # around matched words in search snippets; the sidebar highlights them
TAIL = 200  # messages looked at when finding the last prompt of a branch
# A stored session longer than this is measured for the context meter only once a turn has loaded
# it: reading it all just to open it would cost its whole history in memory.
MEASURE_UNLOADED = 2_000
T = TypeVar("T")
_drafts = itertools.count(1)


@dataclass
class SessionItem:
    """A session as the sidebar and the palette list it; ``snippet`` holds a search match."""

    id: str
    title: str
    model: str = ""
    snippet: str = ""
    archived: bool = False


@dataclass
class ContextState:
    """How the next turn's context fits the model that would answer it (the status line's meter,
    the transcript's mark)."""

    tokens: int
    window: int | None  # None: the model's window is unknown
    left_out: int = 0  # oldest messages left out to fit the window
    summarised: int = 0  # messages a compact summary stands for
    summary: str = ""
    first_seen: int | None = None  # stored id of the oldest message sent, when some are not


class OpenSession:
    """The session on screen: its stored record (``None`` while a draft) and its conversation.

    The conversation of a stored session is read from the store only when first needed (a turn,
    an export): showing a long session needs just its newest page.
    """

    def __init__(
        self,
        record: SessionRecord | None,
        chat: ChatSession | None = None,
        load: Callable[[], ChatSession] | None = None,
        model: str | None = None,
    ) -> None:
        self.record = record
        self.id = record.id if record else f"draft-{next(_drafts)}"
        self._chat = chat
        self._load = load
        self._model = model  # the model until the conversation is loaded

    @property
    def chat(self) -> ChatSession:
        if self._chat is None:
            assert self._load is not None
            self._chat = self._load()
        return self._chat

    def peek(self) -> ChatSession:
        """The conversation, without keeping it loaded when it isn't (the context meter reads it
        from a thread; opening a long session must stay cheap)."""
        if self._chat is not None:
            return self._chat
        assert self._load is not None
        return self._load()

    @property
    def loaded(self) -> bool:
        return self._chat is not None

    @property
    def title(self) -> str:
        return terminal_safe(self.record.title if self.record else "") or NEW_TITLE

    @property
    def model(self) -> str:
        return terminal_safe((self._chat.model if self._chat is not None else self._model) or "")

    @property
    def stored(self) -> bool:
        return self.record is not None


def guarded(default: Callable[[], Any]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A store failure in a controller call is reported (a notification) instead of raised."""

    def wrap(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def run(self: Controller, *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, *args, **kwargs)
            except StoreError as error:
                self.report(error)
                return default()  # type: ignore[no-any-return]

        return run

    return wrap


class Controller:
    """Sessions and turns for one app; every method is cheap except ``events`` and ``list_models``."""

    def __init__(
        self,
        model: str | None = None,
        system: str | None = None,
        approve: Any = None,
        tools: Sequence[Any] = (),
        store: Store | None = None,
        resume: bool = True,
        session_id: str | None = None,
    ) -> None:
        self.default_model = model
        self.default_system = system
        self.tools = list(tools)
        self.approve = approve
        self.report: Callable[[AIError], None] = lambda error: None
        self.problem: StoreError | None = None  # why the real store could not be used
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._owns_store = store is None
        self.store = store or self._open_store()
        self.current = self._draft()
        found = self._resolve(session_id) if session_id else self._latest() if resume else None
        if found is not None:
            self.current = self._open(found, model)

    def _open_store(self) -> Store:
        try:
            return Store.default()
        except StoreError as error:
            self.problem = error
            self._temporary = tempfile.TemporaryDirectory(prefix="ttt-")
            return Store(Path(self._temporary.name) / "ttt.db")

    @guarded(lambda: None)
    def _resolve(self, prefix: str) -> SessionRecord | None:
        return self.store.get_session(self.store.resolve(prefix))

    @guarded(lambda: None)
    def _latest(self) -> SessionRecord | None:
        return self.store.latest_session()

    def close(self) -> None:
        """Close the store if the controller opened it (an unfinished reply is saved as interrupted)."""
        if self._owns_store:
            with contextlib.suppress(StoreError):
                self.store.close()
        if self._temporary is not None:
            self._temporary.cleanup()

    # --- sessions -------------------------------------------------------------------------------

    def _draft(self) -> OpenSession:
        options = {"model": self.default_model, "system": self.default_system}
        return OpenSession(None, ChatSession(**options, tools=self.tools, approve=self._approve))

    def _open(self, record: SessionRecord, model: str | None = None) -> OpenSession:
        """A stored session; ``model`` (else its own, else the app's default) answers its next turn."""
        model = model or record.model or self.default_model
        options: dict[str, Any] = {"tools": self.tools, "approve": self._approve}
        if model:
            options["model"] = model

        def load() -> ChatSession:
            return PersistentChatSession(self.store, record, **options)

        return OpenSession(record, load=load, model=model)

    def new_session(self) -> OpenSession:
        self.current = self._draft()
        return self.current

    def switch(self, session_id: str) -> OpenSession:
        if session_id != self.current.id:
            record = self._record(session_id)
            if record is not None:
                self.current = self._open(record)
        return self.current

    @guarded(lambda: None)
    def _record(self, session_id: str) -> SessionRecord | None:
        return self.store.get_session(session_id)

    def ensure_stored(self, prompt: str) -> OpenSession:
        """A draft becomes a stored session when its first prompt is sent (its title comes from it)."""
        current = self.current
        if current.record is None:
            chat = current.chat
            record = self.store.create_session(
                title_from(prompt) or NEW_TITLE, chat.model or "", chat.system or ""
            )
            options = {
                "model": chat.model,
                "system": chat.system,
                "tools": self.tools,
                "approve": self._approve,
            }
            self.current = OpenSession(record, PersistentChatSession(self.store, record, **options))
        return self.current

    @guarded(lambda: None)
    def rename(self, session_id: str, title: str) -> None:
        title = title.strip() or "Untitled"
        if session_id == self.current.id and self.current.record is None:
            self.ensure_stored(title)  # a named draft is kept
            session_id = self.current.id
        self.store.rename(session_id, title)
        if self.current.record is not None and self.current.id == session_id:
            self.current.record.title = title

    @guarded(lambda: None)
    def delete(self, session_id: str) -> None:
        if not session_id.startswith("draft-"):
            self.store.delete(session_id)
        if session_id == self.current.id:
            self._after_leaving()

    @guarded(lambda: None)
    def archive(self, session_id: str, archived: bool = True) -> None:
        if not session_id.startswith("draft-"):
            self.store.archive(session_id, archived)
        if archived and session_id == self.current.id:
            self._after_leaving()

    def _after_leaving(self) -> None:
        latest = self._latest()
        self.current = self._open(latest) if latest is not None else self._draft()

    @guarded(list)
    def list_sessions(self, query: str = "", include_archived: bool = False) -> list[SessionItem]:
        """Newest first; with ``query``, sessions whose title or messages have its words (FTS)."""
        if query.strip():
            return screen_safe(self._search(query, include_archived))
        records = self.store.list_sessions(500, 0, include_archived)
        items = [SessionItem(r.id, r.title or NEW_TITLE, r.model, archived=r.archived) for r in records]
        if not self.current.stored:
            items.insert(0, SessionItem(self.current.id, self.current.title, self.current.model))
        return screen_safe(items)

    def _search(self, query: str, include_archived: bool) -> list[SessionItem]:
        words = query.split()
        if not query.endswith(" "):
            words[-1] += "*"  # the word being typed matches as a prefix
        found: dict[str, SessionItem] = {}
        for hit in self.store.search(" ".join(words), limit=200, markers=MARKS):
            if hit.session_id in found or (hit.archived and not include_archived):
                continue
            if hit.message_id is None:
                found[hit.session_id] = SessionItem(hit.session_id, hit.snippet, archived=hit.archived)
            else:
                title = hit.title or NEW_TITLE
                snippet = " ".join(hit.snippet.split())
                found[hit.session_id] = SessionItem(hit.session_id, title, "", snippet, hit.archived)
        return list(found.values())

    @guarded(lambda: ([], False))
    def messages(self, limit: int, before: int | None = None) -> tuple[list[StoredMessage], bool]:
        """The newest ``limit`` messages of the branch before message ``before``, and whether older exist."""
        current = self.current
        if current.record is None:
            return [], False
        leaf = None
        if before is not None:
            first = self.store.get_message(before)
            if first is None or first.parent_id is None:
                return [], False
            leaf = first.parent_id
        found = self.store.history(current.id, leaf, limit + 1)
        return screen_safe(found[-limit:]), len(found) > limit

    @guarded(lambda: (0, 0, None))
    def usage(self) -> tuple[int, int, float | None]:
        """Tokens in and out and cost of the current session so far, from the store."""
        current = self.current
        return (0, 0, None) if current.record is None else self.store.usage(current.id)

    @guarded(lambda: [])
    def messages_between(self, first: int, last: int) -> list[StoredMessage]:
        """Messages ``first``..``last`` of the branch again: a page the transcript let go."""
        if self.current.record is None:
            return []
        found = self.store.history(self.current.id, last, last - first + 1)
        return screen_safe([m for m in found if m.id >= first])

    @guarded(lambda: None)
    def set_model(self, model: str) -> None:
        current = self.current
        current._model = model
        if current.loaded or current.record is None:
            current.chat.model = model
        if current.record is not None:
            self.store.set_model(current.id, model)
            current.record.model = model

    @guarded(lambda: None)
    def set_system(self, system: str) -> None:
        current = self.current
        if current.loaded or current.record is None:
            current.chat.system = system or None
        if current.record is not None:
            self.store.set_system(current.id, system)
            current.record.system = system

    def system(self) -> str:
        current = self.current
        if current.record is not None and not current.loaded:
            return terminal_safe(current.record.system)
        return terminal_safe(current.chat.system or "")

    @guarded(lambda: "")
    def export(self, fmt: str) -> str:
        """The current session as Markdown or JSON."""
        return self.current.chat.export(fmt)

    # --- turns ----------------------------------------------------------------------------------

    async def events(
        self, prompt: str, images: Sequence[ImagePart] = (), again: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """One turn of the current session, written to the store as it streams (as it came) and
        handed out fit for the screen. ``again``: the branch's last prompt is asked again, its
        new reply a branch beside the earlier ones."""
        chat = self.ensure_stored(prompt).chat
        safe = SafeStream()
        if again and isinstance(chat, PersistentChatSession):
            stream = chat.regenerate_events()
        else:
            stream = chat.events(prompt, images=list(images) or None)
        async for event in stream:
            yield safe.event(event)
        for event in safe.rest():
            yield event

    @guarded(lambda: None)
    def after_turn(self, session_id: str, ended: str) -> None:
        """``ended``: complete | stopped | failed (kept text) | lost (nothing came back).

        The store already holds a stopped or failed reply; the conversation is read back from
        it so the next turn sees it. A lost turn stays in the store and on screen, marked
        failed, and out of the model's context (see ``persistent.context``).
        """
        current = self.current
        if ended == "complete" or session_id != current.id or current.record is None:
            return
        self.current = self._open(self.store.get_session(current.id) or current.record, current.model)

    @guarded(lambda: None)
    def context_state(self, model: str) -> ContextState | None:
        """How the current session's next turn fits ``model`` (a routed name). Reads the whole
        branch: call it off the event loop."""
        current = self.current
        record = current.record
        if not current.loaded and record is not None and record.message_count > MEASURE_UNLOADED:
            return None
        chat = current.peek()
        fitted = chat.context_fit(model)
        hidden = chat.summarised + fitted.left_out
        first_seen = None
        if hidden and isinstance(chat, PersistentChatSession) and current.record is not None:
            seen = in_context(self.store.history(current.id, chat._leaf))
            first_seen = seen[hidden].id if hidden < len(seen) else None
        summary = terminal_safe(chat.summary)
        return ContextState(
            fitted.tokens, fitted.window, fitted.left_out, chat.summarised, summary, first_seen
        )

    async def compact(self) -> str:
        """Summarise the current session's older turns (see ``ChatSession.compact``); the summary
        comes back fit for the screen."""
        return terminal_safe(await self.current.chat.compact_async())

    @guarded(lambda: None)
    def last_turn_ids(self) -> tuple[int | None, int | None]:
        """Stored ids of the newest prompt of the current branch and of the newest reply to it."""
        reply = None
        for message in reversed(self._tail()):
            if message.role == "user":
                return message.id, reply
            if message.role == "assistant" and reply is None:
                reply = message.id
        return None, reply

    def _tail(self) -> list[StoredMessage]:
        leaf = self._leaf()
        return [] if leaf is None else self.store.history(self.current.id, leaf, TAIL)

    def _leaf(self) -> int | None:
        """The end of the branch on screen (before the prompt being edited, while one is)."""
        current = self.current
        if current.record is None:
            return None
        if current.loaded and isinstance(current.chat, PersistentChatSession):
            return current.chat.leaf
        return self.store.active_leaf(current.id)

    @guarded(lambda: None)
    def last_prompt(self) -> str | None:
        """The branch's last prompt, which regenerate asks again (failed or not)."""
        prompt = next((m for m in reversed(self._tail()) if m.role == "user"), None)
        return None if prompt is None else terminal_safe(prompt.text)

    @guarded(lambda: None)
    def edit(self, message_id: int) -> str | None:
        """Go back to before prompt ``message_id``: the next prompt goes beside it, a new branch of
        this session. Returns the prompt's text to change."""
        chat = self.current.chat
        if not isinstance(chat, PersistentChatSession):
            return None
        return terminal_safe(chat.edit(message_id).text)

    @guarded(lambda: None)
    def switch_branch(self, message_id: int, step: int) -> int | None:
        """Show the sibling ``step`` places from message ``message_id`` and the newest branch under
        it (remembered in the store); returns its id, None past the first or last."""
        chat = self.current.chat
        found = branches.siblings(self.store, message_id)
        place = found.index(message_id) + step if message_id in found else -1
        if not isinstance(chat, PersistentChatSession) or not 0 <= place < len(found):
            return None
        chat.switch(found[place])
        return found[place]

    @guarded(dict)
    def branch_points(self, message_ids: list[int]) -> dict[int, BranchPoint]:
        """Where each of these messages stands among its siblings, for those that have any."""
        return branches.branch_points(self.store, message_ids) if message_ids else {}

    @guarded(lambda: None)
    def fork(self) -> str | None:
        """A new session holding a copy of the branch on screen; returns its id."""
        leaf = self._leaf()
        if leaf is None:
            return None
        return self.store.fork(self.current.id, leaf).id

    async def _approve(self, call: Any, tool: Any) -> str:
        if self.approve is None:
            return "no"
        return await self.approve(screen_safe(call), tool)  # type: ignore[no-any-return]

    # --- models ---------------------------------------------------------------------------------

    async def list_models(self) -> list[Any]:
        from ttt.core.inventory import list_models

        return screen_safe(await list_models(api.get_config()))

    async def probe(self) -> tuple[Route | None, str | None]:
        """Where the session's next prompt would go, or why no model can answer; no request."""
        from ttt.core.routing import BackendPool, Router

        config = api.get_config()
        pool = BackendPool(config)
        try:
            return screen_safe(await Router(config, pool).resolve(self.current.model or None)), None
        except AIError as error:
            return None, terminal_safe(f"{error.title}: {error.message}")
        except Exception as error:  # a broken plugin must not stop the app from opening
            return None, terminal_safe(f"{type(error).__name__}: {error}")
        finally:
            await pool.aclose()

    async def offline_state(self, route: Route | None) -> str:
        """The bundled offline model's state in a phrase. It is tried (once per machine and
        install) only when it is what answers; otherwise what is already known is said."""
        from ttt.core.backends import llama_probe, llama_server

        settings = api.get_config().llamacpp
        if settings.base_url:
            return f"attached to {settings.base_url}."
        problem = llama_server.installation_problem(settings)
        if problem is not None:
            return f"not usable: {problem.message.split('. ')[0].rstrip('.')}."
        if route is not None and route.backend == "llamacpp":
            verdict: llama_probe.Verdict | None = await asyncio.to_thread(llama_probe.check, settings)
        else:
            verdict = llama_probe.remembered(settings)
        if verdict is None:
            return "installed; tried when first used."
        if verdict.ok:
            return "ready: it answers here, with no key and no network."
        return f"cannot run here: {verdict.detail.split('. ')[0]}."
