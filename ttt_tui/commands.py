"""Command palette (Ctrl+P) providers: sessions, models, themes and the app's own commands."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp


class _Provider(Provider):
    """Search and discovery over a fixed list of (title, help, callback)."""

    @property
    def ttt(self) -> TTTApp:
        return cast("TTTApp", self.app)

    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for title, help_text, callback in self.entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)


class SessionCommands(_Provider):
    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [
            (f"Session: {s.title}", s.model or "default model", partial(self.ttt.open_session, s.id))
            for s in self.ttt.controller.list_sessions()
        ]


class ModelCommands(_Provider):
    async def startup(self) -> None:
        try:
            self.models = await self.ttt.controller.list_models()
        except Exception:
            self.models = []

    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [
            (
                f"Model: {m.name}",
                f"{m.backend} · {m.context_length // 1000}k context",
                partial(self.ttt.set_model, m.name),
            )
            for m in getattr(self, "models", [])
        ]


class ThemeCommands(_Provider):
    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [
            (
                f"Theme: {name}",
                "use this colour theme (remembered)",
                partial(setattr, self.app, "theme", name),
            )
            for name in sorted(self.app.available_themes)
        ]


class AppCommands(_Provider):
    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        run = self.ttt.run_action
        commands = [
            ("New session", "start an empty conversation", "new_session"),
            ("Choose model…", "pick the model of this session", "pick_model"),
            ("Toggle tool inspector", "show or hide the tool calls", "toggle_inspector"),
            ("Toggle sidebar", "show or hide the sessions", "toggle_sidebar"),
            ("Regenerate reply", "ask the last prompt again (a new branch)", "regenerate"),
            ("Previous branch", "walk the alternatives of a reply or prompt (Alt+←)", "branch(-1)"),
            ("Next branch", "walk the alternatives of a reply or prompt (Alt+→)", "branch(1)"),
            ("Fork session", "copy the branch shown into a new session", "fork_session"),
            ("Copy last reply", "to the clipboard", "copy_last"),
            ("Rename session", "give this session a title", "rename_session"),
            ("Set system prompt", "for this session", "system_prompt"),
            ("Compact context", "summarise older turns; the next turns send the summary", "compact"),
            ("Delete session", "asks first", "delete_session"),
            ("Archive session", "hide it from the list (again: bring it back)", "archive_session"),
            ("Show archived sessions", "list them in the sidebar too (toggle)", "toggle_archived"),
            ("Attach a file…", "to the next prompt", "attach"),
            ("Usage statistics", "requests, latency, tokens, cost, tool calls", "stats"),
            ("Export session as Markdown", "writes a .md file here", "export('md')"),
            ("Export session as JSON", "writes a .json file here", "export('json')"),
            ("Keys", "every binding and its id", "help"),
        ]
        return [(title, help_text, partial(run, action)) for title, help_text, action in commands]
