"""The full-screen app: sidebar, transcript + composer + status line, tool inspector, footer.

``create_app`` is the one factory shared by ``ttt`` and the tests; ``run_app`` is what the CLI calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker

from ttt.core import api
from ttt.core.config import paths, set_user_value
from ttt.core.types import ToolCall
from ttt_tui.commands import AppCommands, ModelCommands, SessionCommands, ThemeCommands
from ttt_tui.controller import Controller
from ttt_tui.screens.dialogs import ApprovalScreen, ConfirmScreen, TextScreen
from ttt_tui.screens.help import HelpScreen, describe
from ttt_tui.screens.model_picker import ModelPicker
from ttt_tui.turn import Turn
from ttt_tui.widgets.composer import Composer
from ttt_tui.widgets.inspector import ToolCallCard, ToolInspector
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage
from ttt_tui.widgets.sidebar import SessionSidebar
from ttt_tui.widgets.status import Stats, StatusLine
from ttt_tui.widgets.transcript import PAGE, Transcript, views_for
from ttt_tui.widgets.welcome import Welcome

FPS = 20
YIELD_EVERY = 0.005  # seconds of event handling before the turn worker lets the UI run


class TTTApp(App[int]):
    """A chat workbench over ``ttt.core``; all provider traffic goes through the controller."""

    CSS_PATH = "app.tcss"
    TITLE = "ttt"
    COMMANDS = App.COMMANDS | {SessionCommands, ModelCommands, ThemeCommands, AppCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Keys", id="help"),
        Binding("escape", "cancel", "Stop", id="cancel", priority=True),
        Binding("ctrl+n", "new_session", "New", id="new_session"),
        Binding("ctrl+o", "pick_model", "Model", id="pick_model"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="regenerate"),
        Binding("ctrl+t", "toggle_inspector", "Tools", id="toggle_inspector"),
        Binding("ctrl+b", "toggle_sidebar", "Sessions", id="toggle_sidebar"),
        Binding("ctrl+y", "copy_last", "Copy reply", id="copy_last", show=False),
        Binding("ctrl+l", "focus_composer", "Composer", id="focus_composer", show=False),
    ]

    def __init__(
        self, model: str | None = None, system: str | None = None, tools: Sequence[Any] = ()
    ) -> None:
        super().__init__()
        self.controller = Controller(model, system, approve=self.approve, tools=tools)
        self.keymap: dict[str, str] = {}
        self.stats: dict[str, Stats] = {}
        self.turn: Turn | None = None
        self._frame: Timer | None = None
        self._approvals: dict[str, asyncio.Future[str]] = {}
        self.connection_problem: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield SessionSidebar(id="sidebar")
            with Vertical(id="center"):
                yield Transcript(id="transcript")
                yield Composer(id="composer")
                yield StatusLine(id="status")
            yield ToolInspector(id="inspector")
        yield Footer()

    async def on_mount(self) -> None:
        config = api.get_config()
        if config.tui.theme in self.available_themes:
            self.theme = config.tui.theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.keymap = dict(config.tui.keymap)
        self.set_keymap(self.keymap)
        self.query_one(ToolInspector).display = False
        self._frame = self.set_interval(1 / FPS, self._on_frame, pause=True)
        await self.open_session(self.controller.current.id)
        self.query_one(Composer).focus()
        self._probe()

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
        record = self.controller.switch(session_id)
        messages, first = self.controller.messages(PAGE)
        views = views_for(messages, first) if messages else [self._welcome()]
        await self.transcript.show(views, first)
        inspector = self.query_one(ToolInspector)
        await inspector.clear_calls()
        results = {r.call_id: r for m in record.chat.messages for r in m.tool_results}
        for call in (c for m in record.chat.messages for c in m.tool_calls):
            card = inspector.add(call)
            if call.id in results:
                card.set_result(results[call.id])
        self.refresh_sidebar()
        self.query_one(StatusLine).show(self._stats())

    def _welcome(self) -> Welcome:
        return Welcome(self.connection_problem, str(paths().user_config))

    def _stats(self) -> Stats:
        record = self.controller.current
        return self.stats.setdefault(record.id, Stats(model=record.model))

    def refresh_sidebar(self, query: str | None = None) -> None:
        sidebar = self.query_one(SessionSidebar)
        if query is None:
            query = sidebar.query_one("#session-filter").value  # type: ignore[attr-defined]
        sidebar.show(self.controller.list_sessions(query), self.controller.current.id)

    @work(exclusive=True, exit_on_error=False, group="probe")
    async def _probe(self) -> None:
        """Find out, off the first frame, whether any model can answer; explain if not."""
        self.connection_problem = await self.controller.connection_problem()
        if self.connection_problem and self.transcript.query(Welcome):
            await self.transcript.show([self._welcome()], 0)

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
        messages, first = self.controller.messages(PAGE, before=event.before)
        await self.transcript.prepend(views_for(messages, first), first)

    async def action_new_session(self) -> None:
        await self.open_session(self.controller.new_session().id)
        self.composer.focus()

    def action_rename_session(self) -> None:
        record = self.controller.current

        def done(title: str | None) -> None:
            if title is not None:
                self.controller.rename(record.id, title)
                self.refresh_sidebar()

        self.push_screen(TextScreen("Rename session", record.title), done)

    def action_system_prompt(self) -> None:
        chat = self.controller.current.chat

        def done(system: str | None) -> None:
            if system is not None:
                self.controller.set_system(system)
                self.notify("System prompt set for this session", timeout=2)

        self.push_screen(
            TextScreen("System prompt for this session", chat.system or "", multiline=True), done
        )

    def action_delete_session(self) -> None:
        record = self.controller.current

        async def done(yes: bool | None) -> None:
            if yes:
                self.controller.delete(record.id)
                await self.open_session(self.controller.current.id)

        self.push_screen(ConfirmScreen(f"Delete “{record.title}”? This cannot be undone."), done)

    async def action_archive_session(self) -> None:
        self.controller.archive(self.controller.current.id)
        await self.open_session(self.controller.current.id)

    def action_export(self, fmt: str) -> None:
        record = self.controller.current
        name = re.sub(r"[^\w-]+", "-", record.title).strip("-").lower() or "session"
        path = Path.cwd() / f"ttt-{name}.{fmt}"
        path.write_text(self.controller.export(fmt), encoding="utf-8")
        self.notify(f"Exported to {path}", title="Session exported")

    # --- models ---------------------------------------------------------------------------------

    def action_pick_model(self) -> None:
        self.push_screen(
            ModelPicker(self.controller.current.model, loader=self.controller.list_models),
            lambda model: self.set_model(model) if model else None,
        )

    def set_model(self, model: str) -> None:
        self.controller.set_model(model)
        stats = self._stats()
        stats.model, stats.backend = model, ""
        self.query_one(StatusLine).show(stats)
        self.refresh_sidebar()
        self.notify(f"This session now uses {model}", timeout=2)
        if self.transcript.query(Welcome):
            self._probe()

    # --- turns ----------------------------------------------------------------------------------

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        if self.turn is not None:
            self.notify("A reply is still streaming — Esc stops it", severity="warning", timeout=3)
            return
        event.composer.clear_sent(event.text)
        await self.send(event.text)

    async def send(self, prompt: str) -> None:
        """Show the prompt and an empty reply, then stream the turn into it."""
        if self.transcript.query(Welcome):
            await self.transcript.show([], 0)
        reply = AssistantMessage(model=self.controller.current.model)
        await self.transcript.add(UserMessage(prompt, index=len(self.controller.current.chat.messages)))
        await self.transcript.add(reply)
        self.turn = Turn(
            self.controller.current.id,
            prompt,
            reply,
            self.query_one(ToolInspector),
            self.query_one(StatusLine),
            self._stats(),
        )
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
            async with contextlib.aclosing(self.controller.events(turn.prompt)) as events:
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
            if self._frame is not None:
                self._frame.pause()
            await self._end_turn(turn, stopped)

    async def _end_turn(self, turn: Turn, stopped: bool) -> None:
        """Mark how the reply ended and keep everything: partial text, or the prompt in the composer."""
        failed = turn.error is not None and not stopped
        mark = "■ stopped" if stopped else ""
        if failed:
            title, message = turn.error_text()
            self.notify(message, title=title, severity="error", timeout=8)
            mark = f"⚠ {title}: {message}"
        await turn.end(mark, error=failed)
        if stopped or (failed and turn.reply.text.strip()):
            self.controller.keep_partial(turn.session_id, turn.reply.text)
        elif failed and turn.session_id == self.controller.current.id:
            self.controller.take_last_prompt()
            if not self.composer.text:
                self.composer.load_text(turn.prompt)
        self.refresh_sidebar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.turn is not None
        return True

    def action_cancel(self) -> None:
        for worker in self.workers:
            if worker.group == "turn" and worker.is_running:
                worker.cancel()

    async def action_regenerate(self) -> None:
        if self.turn is not None:
            return
        prompt = self.controller.take_last_prompt()
        if prompt is None:
            self.notify("Nothing to regenerate yet", timeout=2)
            return
        last_user = self.transcript.latest(UserMessage)
        if last_user is not None:
            for view in [
                last_user,
                *self.transcript.children[self.transcript.children.index(last_user) + 1 :],
            ]:
                await view.remove()
        await self.send(prompt)

    async def on_user_message_edit_requested(self, event: UserMessage.EditRequested) -> None:
        """Edit an earlier prompt: the session forks before it and the prompt returns to the composer."""
        if self.turn is not None or event.view.index is None:
            return
        prompt = self.controller.fork_at(event.view.index)
        if prompt is None:
            return
        await self.open_session(self.controller.current.id)
        self.composer.load_text(prompt)
        self.composer.focus()
        self.notify("Forked the session — edit the prompt and press Enter", timeout=3)

    def action_copy_last(self) -> None:
        reply = self.transcript.latest(AssistantMessage)
        if isinstance(reply, MessageView):
            reply.action_copy()

    # --- tool approval --------------------------------------------------------------------------

    async def approve(self, call: ToolCall, tool: Any) -> str:
        """The engine's approval callback: ask in a modal and in the inspector; the first answer wins."""
        inspector = self.query_one(ToolInspector)
        inspector.display = True
        card = inspector.find(call.id) or inspector.add(call)
        card.set_status("waiting")
        if self.turn is not None:
            self.turn.calls[call.id] = call
            self.turn._tool_lines()
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._approvals[call.id] = future
        screen = ApprovalScreen(call, getattr(tool, "description", ""))
        self.push_screen(screen, lambda answer: self._decide(call.id, answer or "no"))
        try:
            answer = await future
        finally:
            self._approvals.pop(call.id, None)
            if screen.is_active:
                screen.dismiss("no")
        card.set_decision(answer)
        return answer

    def _decide(self, call_id: str, answer: str) -> None:
        future = self._approvals.get(call_id)
        if future is not None and not future.done():
            future.set_result(answer)

    def on_tool_call_card_decided(self, event: ToolCallCard.Decided) -> None:
        self._decide(event.card.call.id, event.answer)

    # --- view -----------------------------------------------------------------------------------

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(ToolInspector)
        inspector.display = not inspector.display

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(SessionSidebar)
        sidebar.display = not sidebar.display

    def action_focus_composer(self) -> None:
        self.composer.focus()

    def action_help(self) -> None:
        bindings = [*self.BINDINGS, *Composer.BINDINGS, *SessionSidebar.BINDINGS]
        bindings += [*MessageView.BINDINGS, *UserMessage.BINDINGS, *AssistantMessage.BINDINGS]
        rows = describe([b for b in bindings if isinstance(b, Binding)], self.keymap)
        rows.append(("Ctrl+P", "Command palette", "command_palette"))
        self.push_screen(HelpScreen(rows))

    def _remember_theme(self, _theme: object) -> None:
        if self.theme != api.get_config().tui.theme:
            with contextlib.suppress(Exception):
                set_user_value("tui.theme", self.theme)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Workers don't exit the app on error; make sure nothing fails silently either."""
        if event.worker.error is not None and event.worker.group != "turn":
            self.notify(str(event.worker.error), title="Something went wrong", severity="error")


def create_app(
    model: str | None = None,
    system: str | None = None,
    settings: dict[str, Any] | None = None,
    tools: Sequence[Any] = (),
) -> TTTApp:
    """The app as ``ttt`` runs it (tests call this too); ``tools`` are offered to the model."""
    if settings:
        api.configure(**settings)
    return TTTApp(model=model, system=system, tools=tools)


def run_app(
    model: str | None = None, system: str | None = None, settings: dict[str, Any] | None = None
) -> int:
    return create_app(model, system, settings).run() or 0
