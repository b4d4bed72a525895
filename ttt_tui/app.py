"""The full-screen app: sidebar, transcript + composer + status line, tool inspector, footer.

``create_app`` is the one factory shared by ``ttt`` and the tests; ``run_app`` is what the CLI calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer as TextualFooter
from textual.worker import Worker

from ttt.core import api
from ttt.core.config import files_signature, paths
from ttt.core.errors import AIError
from ttt.core.sanitize import terminal_safe
from ttt.core.session.store import Store, StoredMessage
from ttt.core.types import ImagePart
from ttt_tui.approval import Approvals
from ttt_tui.branch_actions import BranchActions
from ttt_tui.commands import AppCommands, ModelCommands, SessionCommands, ThemeCommands
from ttt_tui.context_actions import ContextActions
from ttt_tui.controller import Controller
from ttt_tui.mcp_servers import McpCommands, start_servers
from ttt_tui.screens.dialogs import ApprovalScreen
from ttt_tui.session_actions import SessionActions
from ttt_tui.ui_state import load_state
from ttt_tui.view_actions import ViewActions
from ttt_tui.widgets.attachments import AttachmentBar
from ttt_tui.widgets.composer import Composer
from ttt_tui.widgets.inspector import ToolCallCard, ToolInspector
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage
from ttt_tui.widgets.sidebar import SessionSidebar
from ttt_tui.widgets.status import Stats, StatusLine
from ttt_tui.widgets.transcript import PAGE, Transcript, span

if TYPE_CHECKING:
    from ttt_tui.turn import Turn
    from ttt_tui.widgets.welcome import Welcome

FPS = 20
YIELD_EVERY = 0.005  # seconds of event handling before the turn worker lets the UI run
DEFAULT_TOOLS = ("category:time", "category:math", "category:file")  # write_file asks first


class Footer(TextualFooter):
    """Textual's footer, recomposed only when the keys it shows change.

    Textual recomposes it (a widget per key) on every bindings refresh, and each focus
    change asks twice: start-up paid for four, most of them showing the same keys.
    """

    _shown: tuple[object, ...] | None = None

    async def recompose(self) -> None:
        shown = self._keys() if self.is_attached else None  # detached: Textual's recompose does nothing
        if shown is None or shown != self._shown:
            self._shown = shown
            await super().recompose()

    def _keys(self) -> tuple[object, ...]:
        """What ``compose`` reads: the active bindings and whether the palette key is wanted."""
        active = self.screen.active_bindings.items()
        return (self.show_command_palette, *((key, b.binding, b.enabled, b.tooltip) for key, b in active))


class MainScreen(Screen[None]):
    """The app's screen, where the composer has the focus from the start.

    Textual would focus the first focusable widget (the session filter) and the app then moves the
    focus on: the footer's keys change twice, and it is recomposed twice, before the first frame.
    """

    AUTO_FOCUS = "#composer"


class TTTApp(BranchActions, SessionActions, ViewActions, ContextActions, App[int]):
    """A chat workbench over ``ttt.core``; all provider traffic goes through the controller."""

    CSS_PATH = "app.tcss"
    TITLE = "ttt"
    COMMANDS = App.COMMANDS | {SessionCommands, ModelCommands, ThemeCommands, AppCommands, McpCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Keys", id="help"),
        Binding("escape", "cancel", "Stop", id="cancel", priority=True),
        Binding("ctrl+n", "new_session", "New", id="new_session"),
        Binding("ctrl+o", "pick_model", "Model", id="pick_model"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="regenerate"),
        Binding("alt+left", "branch(-1)", "Previous branch", id="branch_previous", show=False),
        Binding("alt+right", "branch(1)", "Next branch", id="branch_next", show=False),
        Binding("ctrl+a", "attach", "Attach", id="attach", priority=True),
        Binding("ctrl+t", "toggle_inspector", "Tools", id="toggle_inspector"),
        Binding("ctrl+b", "toggle_sidebar", "Sessions", id="toggle_sidebar"),
        Binding("f2", "stats", "Stats", id="stats", show=False),
        Binding("ctrl+y", "copy_last", "Copy reply", id="copy_last", show=False),
        Binding("ctrl+l", "focus_composer", "Composer", id="focus_composer", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False, priority=True),  # listed by F1
    ]

    def __init__(
        self,
        model: str | None = None,
        system: str | None = None,
        tools: Sequence[Any] = (),
        store: Store | None = None,
        resume: bool = True,
        session_id: str | None = None,
    ) -> None:
        super().__init__()
        self.approvals = Approvals(self)
        self.controller = Controller(model, system, self.approvals.ask, tools, store, resume, session_id)
        self.controller.report = self.report
        self.problems: list[AIError] = [self.controller.problem] if self.controller.problem else []
        self.keymap: dict[str, str] = {}
        self.stats: dict[str, Stats] = {}
        self.turn: Turn | None = None
        self.show_archived = False
        self._frame: Timer | None = None
        self._config_signature = files_signature()
        self.connection_problem: str | None = None
        self.route_model: str | None = None
        self.offline_state = "checking whether it runs here…"

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, reading invalid UTF-8 as U+FFFD (``terminal_input``)."""
        from ttt_tui.terminal_input import replace_invalid_input

        driver = super().get_driver_class()
        replace_invalid_input(driver)
        return driver

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield SessionSidebar(id="sidebar")
            with Vertical(id="center"):
                yield Transcript(id="transcript")
                yield AttachmentBar(id="attachments")
                yield Composer(id="composer")
                yield StatusLine(id="status")
            yield ToolInspector(id="inspector")
        yield Footer()

    async def on_mount(self) -> None:
        config = api.get_config()
        theme = load_state().get("theme") or config.tui.theme  # chosen in the app, else the config's
        if theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.apply_keymap(config.tui.keymap)
        self.query_one(ToolInspector).display = False
        self.query_one(ToolInspector).show_tools(self.controller.tools, config.tools)
        self._frame = self.set_interval(1 / FPS, self._on_frame, pause=True)
        self.set_interval(1.0, self.check_config)
        await self.open_session(self.controller.current.id)
        self.composer.focus()
        for problem in self.problems:
            self.report(problem)
        self._probe()
        self.call_after_refresh(self._started)

    def _started(self) -> None:
        """Leave what start-up made out of garbage collections, and collect from here on.

        A full collection walks every tracked object, all that start-up leaves alive, and
        one landing mid-stream held up that frame and any key pressed with it. What is alive now
        (modules, classes, this screen) stays alive, so it is frozen out of collections. ``ttt``
        starts the app with the collector paused (collecting during start-up delayed the first
        frame); it resumes here, and the little cyclic garbage of start-up is frozen too.
        """
        gc.freeze()
        gc.enable()
        start_servers(self)

    def on_unmount(self) -> None:
        self.controller.close()

    def report(self, error: AIError) -> None:
        """A failure that costs one action, never the app: a notification saying what happened."""
        message = error.message
        if error is self.controller.problem:
            message += " Sessions of this run are kept in a temporary folder only."
        self.notify(message, title=error.title, severity="error", timeout=10, markup=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification as plain, terminal-safe text: they quote errors from providers and
        tools, titles and paths, which must neither move the terminal nor be read as markup."""
        super().notify(
            terminal_safe(message),
            title=terminal_safe(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    # --- sessions -------------------------------------------------------------------------------

    async def open_session(self, session_id: str) -> None:
        """Show a session: its newest page of messages, its tool calls, its totals."""
        if self.turn is not None:
            self.action_cancel()
        self.controller.switch(session_id)
        messages = await self._show_newest()
        inspector = self.query_one(ToolInspector)
        await inspector.clear_calls()
        self._show_calls(messages)
        self.refresh_sidebar()
        self.query_one(StatusLine).show(self._stats())
        self.update_context(self.routed_model())

    async def _show_newest(self) -> list[StoredMessage]:
        """The newest page of the current session, or the welcome panel for an empty one."""
        messages, older = self.controller.messages(PAGE)
        if messages:
            await self.transcript.show(self.views(messages), older, span(messages))
        else:
            await self.transcript.show([self._welcome()])
        return messages

    def _show_calls(self, messages: list[StoredMessage], older: bool = False) -> None:
        found = [m.to_message() for m in messages]
        results = {r.call_id: r for m in found for r in m.tool_results}
        ended = [m.to_message() for m in messages if m.status != "complete"]
        stopped = frozenset(c.id for m in ended for c in m.tool_calls if c.id not in results)
        for inspector in self.query(ToolInspector):  # none while the app shuts down
            inspector.show_stored([c for m in found for c in m.tool_calls], results, older, stopped)

    def _welcome(self) -> Welcome:
        """Imported here: Textual's Markdown slows start-up, and a start that resumes a
        session with messages never shows the welcome."""
        from ttt_tui.widgets.welcome import Welcome

        config = paths().user_config
        if config.is_relative_to(Path.home()):
            config = "~" / config.relative_to(Path.home())
        return Welcome(self.connection_problem, str(config), self.route_model, self.offline_state)

    def _stats(self) -> Stats:
        session = self.controller.current
        if session.id not in self.stats:  # totals so far come from the store: they survive restarts
            tokens_in, tokens_out, cost = self.controller.usage()
            self.stats[session.id] = Stats(session.model, "", tokens_in, tokens_out, cost)
        return self.stats[session.id]

    def routed_model(self) -> str | None:
        """The model that answered this session's last turn in this run, if one did."""
        stats = self._stats()
        return stats.model if stats.backend else None

    def refresh_sidebar(self, query: str | None = None) -> None:
        sidebar = self.query_one(SessionSidebar)
        if query is None:
            query = sidebar.query_one("#session-filter").value  # type: ignore[attr-defined]
        sessions = self.controller.list_sessions(query, include_archived=self.show_archived)
        sidebar.show(sessions, self.controller.current.id)

    @work(exclusive=True, exit_on_error=False, group="probe")
    async def _probe(self) -> None:
        """Find out, off the first frame, which model would answer (the status line says so) or,
        when none can, explain how to connect one."""
        route, self.connection_problem = await self.controller.probe()
        self.route_model = route.model if route is not None else None
        self.offline_state = await self.controller.offline_state(route)
        stats = self._stats()
        if route is not None and not stats.backend:  # nothing has answered in this session yet
            stats.model, stats.backend, stats.route = route.model, route.backend, route.reason
            self.query_one(StatusLine).show(stats)
        if self.transcript.query("Welcome"):
            await self.transcript.show([self._welcome()])

    async def on_session_sidebar_selected(self, event: SessionSidebar.Selected) -> None:
        if event.session_id != self.controller.current.id:
            await self.open_session(event.session_id)
        self.composer.focus()

    def on_session_sidebar_filter_changed(self, event: SessionSidebar.FilterChanged) -> None:
        self.refresh_sidebar(event.query)

    async def on_session_sidebar_command(self, event: SessionSidebar.Command) -> None:
        await self.open_session(event.session_id)
        await self.run_action(f"{event.command}_session")

    async def on_transcript_need_older(self, event: Transcript.NeedOlder) -> None:
        messages, older = self.controller.messages(PAGE, before=event.before)
        await self.transcript.prepend(self.views(messages), older, span(messages))
        self._show_calls(messages, older=True)

    async def on_transcript_need_newer(self, event: Transcript.NeedNewer) -> None:
        messages = self.controller.messages_between(event.first, event.last)
        await self.transcript.append(self.views(messages), (event.first, event.last))

    # --- models ---------------------------------------------------------------------------------

    def action_pick_model(self) -> None:
        from ttt_tui.screens.model_picker import ModelPicker

        self.push_screen(
            ModelPicker(self.controller.current.model, loader=self.controller.list_models),
            lambda model: self.set_model(model) if model else None,
        )

    def set_model(self, model: str) -> None:
        self.controller.set_model(model)
        stats = self._stats()
        stats.model, stats.backend, stats.route = model, "", ""
        self.query_one(StatusLine).show(stats)
        self.refresh_sidebar()
        self.notify(f"This session now uses {model}", timeout=2)
        self.update_context()
        if self.transcript.query("Welcome"):
            self._probe()

    # --- turns ----------------------------------------------------------------------------------

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        if self.turn is not None:
            self.notify("A reply is still streaming — Esc stops it", severity="warning", timeout=3)
            return
        bar = self.query_one(AttachmentBar)
        prompt, images, shown = event.text, [], event.text
        if bar.paths:
            from ttt.core.attachments import load

            try:
                loaded = load(bar.paths, api.get_config().attachments)
            except AIError as error:
                self.notify(error.message, title="Can't attach", severity="error", timeout=8, markup=False)
                return
            prompt, images = loaded.prompt(event.text), loaded.images
            shown = "\n".join([event.text, *(f"📎 {path}" for path in bar.paths)])
            bar.clear()
        event.composer.clear_sent(event.text)
        await self.send(prompt, images, shown=shown)

    async def send(
        self, prompt: str, images: Sequence[ImagePart] = (), shown: str | None = None, again: bool = False
    ) -> None:
        """Show the prompt and an empty reply, then stream the turn into it. ``again``: the last
        prompt shown is asked again (regenerate), so only the reply is new."""
        from ttt_tui.turn import Turn

        try:
            session = self.controller.ensure_stored(prompt)
        except AIError as error:
            self.report(error)
            return
        if self.transcript.query("Welcome"):
            await self.transcript.show([])
        elif self.transcript.has_newer:  # scrolled far back: the new turn goes under the newest page
            await self._show_newest()
        reply = AssistantMessage(model=session.model, streaming=True)
        user = self.transcript.latest(UserMessage) if again else None
        if not isinstance(user, UserMessage):
            user = UserMessage(terminal_safe(prompt if shown is None else shown))  # a paste, a prompt rewound
            await self.transcript.add(user, follow=True)
        await self.transcript.add(reply, follow=again)
        status = self.query_one(StatusLine)
        self.turn = Turn(session.id, prompt, reply, self.query_one(ToolInspector), status, self._stats())
        self.turn.images, self.turn.user, self.turn.again = list(images), user, again
        self.refresh_bindings()
        self.refresh_sidebar()
        assert self._frame is not None
        self._frame.resume()
        self._run_turn(self.turn)

    def _on_frame(self) -> None:
        if self.turn is not None:
            self.turn.frame()
            if self.transcript.is_anchored:
                self.transcript.scroll_end(animate=False, immediate=True)

    @work(exclusive=True, exit_on_error=False, group="turn")
    async def _run_turn(self, turn: Turn) -> None:
        """The whole turn in one worker: cancelling it closes the stream and the HTTP request."""
        stopped = False
        try:
            events = self.controller.events(turn.prompt, turn.images, turn.again)
            async with contextlib.aclosing(events):
                breather = time.perf_counter()
                async for event in events:
                    turn.handle(event)
                    if time.perf_counter() - breather > YIELD_EVERY:
                        # A buffered stream never waits, so let frames and keys in now and then.
                        await asyncio.sleep(0)
                        breather = time.perf_counter()
        except asyncio.CancelledError:
            stopped = True
            raise
        except Exception as error:  # a bug below us must cost one reply, not the app
            turn.error = error
        finally:
            self.turn = None
            self.refresh_bindings()
            if self._frame is not None:
                self._frame.pause()
            await self._end_turn(turn, stopped)

    async def _end_turn(self, turn: Turn, stopped: bool) -> None:
        """Mark how the reply ended; the store keeps partial text, a lost prompt returns to the composer."""
        failed = turn.error is not None and not stopped
        mark = "■ stopped" if stopped else ""
        if failed:
            title, message = turn.error_text()
            self.notify(message, title=title, severity="error", timeout=8, markup=False)
            mark = f"⚠ {message}"  # as a stored failed reply shows it when the session is reopened
        await turn.end(mark, error=failed)
        current = turn.session_id == self.controller.current.id
        loaded = current and self.controller.current.loaded
        notices = getattr(self.controller.current.chat, "notices", []) if loaded else []
        for notice in notices:  # e.g. the store failed: the reply came whole, but isn't kept
            self.notify(notice, title="Session store", severity="warning", timeout=8, markup=False)
        notices.clear()
        if current and turn.user is not None:
            turn.user.index, turn.reply.index = self.controller.last_turn_ids()
            self.show_branches([turn.user, turn.reply])
        if current:
            self.update_context(self.routed_model())
        lost = failed and not turn.reply.text.strip()
        ended = "stopped" if stopped else "lost" if lost else "failed" if failed else "complete"
        self.controller.after_turn(turn.session_id, ended)
        if lost and current and not self.composer.text:
            self.composer.load_text(turn.prompt)
        self.refresh_sidebar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":  # in the approval dialog, Esc answers "no" (the dialog's own key)
            return self.turn is not None and not isinstance(self.screen, ApprovalScreen)
        return True

    def action_cancel(self) -> None:
        for worker in self.workers:
            if worker.group == "turn" and worker.is_running:
                worker.cancel()

    def action_copy_last(self) -> None:
        reply = self.transcript.latest(AssistantMessage)
        if isinstance(reply, MessageView):
            reply.action_copy()

    def on_tool_call_card_decided(self, event: ToolCallCard.Decided) -> None:
        self.approvals.decide(event.card.call.id, event.answer)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Workers don't exit the app on error; make sure nothing fails silently either."""
        if event.worker.error is not None and event.worker.group != "turn":
            self.notify(str(event.worker.error), title="Something went wrong", severity="error", markup=False)


def create_app(
    model: str | None = None,
    system: str | None = None,
    settings: dict[str, Any] | None = None,
    tools: Sequence[Any] = (),
    store: Store | None = None,
    resume: bool = True,
    session_id: str | None = None,
) -> TTTApp:
    """The app as ``ttt`` runs it (tests call this too); ``tools`` are offered to the model.

    ``store`` defaults to the database under ``TTT_HOME``; the app opens ``session_id`` (a unique
    prefix is enough), else with ``resume`` the latest session, else a new one.
    """
    if settings:
        api.configure(**settings)
    return TTTApp(model, system, tools, store, resume, session_id)


def run_app(
    model: str | None = None,
    system: str | None = None,
    settings: dict[str, Any] | None = None,
    tools: str | Sequence[Any] | None = None,
    session_id: str | None = None,
) -> int:
    """``ttt``: the latest session (or ``session_id``), with read-only tools (plus write_file, which
    asks) unless ``tools`` names others."""
    chosen, problem = offered_tools(tools)
    app = create_app(model, system, settings, tools=chosen, session_id=session_id)
    if problem is not None:
        app.problems.append(problem)
    return app.run() or 0


def offered_tools(tools: str | Sequence[Any] | None = None) -> tuple[list[Any], AIError | None]:
    """The tools the app offers: ``tools`` (names, ``category:x``, ``all``) or ``DEFAULT_TOOLS``."""
    from ttt.core.tools.registry import tool_registry

    try:
        from ttt_tui.mcp_servers import selectors

        return [*tool_registry.resolve(DEFAULT_TOOLS if tools is None else tools), *selectors()], None
    except AIError as error:
        return [], error
