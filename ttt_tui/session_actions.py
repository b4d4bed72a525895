"""The app's session commands: new, rename, system prompt, delete, archive, export (a mixin of ``TTTApp``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ttt_tui.screens.dialogs import ConfirmScreen, TextScreen

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp

    _Base = TTTApp
else:
    _Base = object


class SessionActions(_Base):
    """Each action works on the current session; the sidebar opens a session before running one."""

    async def action_new_session(self) -> None:
        await self.open_session(self.controller.new_session().id)
        self.composer.focus()

    def action_rename_session(self) -> None:
        session = self.controller.current

        def done(title: str | None) -> None:
            if title is not None:
                self.controller.rename(session.id, title)
                self.refresh_sidebar()

        self.push_screen(TextScreen("Rename session", session.title), done)

    def action_system_prompt(self) -> None:
        def done(system: str | None) -> None:
            if system is not None:
                self.controller.set_system(system)
                self.notify("System prompt set for this session", timeout=2)

        self.push_screen(
            TextScreen("System prompt for this session", self.controller.system(), multiline=True), done
        )

    def action_delete_session(self) -> None:
        session = self.controller.current

        async def done(yes: bool | None) -> None:
            if yes:
                self.controller.delete(session.id)
                await self.open_session(self.controller.current.id)

        self.push_screen(ConfirmScreen(f"Delete “{session.title}”? This cannot be undone."), done)

    async def action_archive_session(self) -> None:
        session = self.controller.current
        if session.record is not None and session.record.archived:
            self.controller.archive(session.id, False)
            session.record.archived = False
            self.notify(f"“{session.title}” is back in the list", timeout=2)
        else:
            self.controller.archive(session.id)
            self.notify(f"Archived “{session.title}” — Ctrl+P › Show archived brings it back", timeout=3)
        await self.open_session(self.controller.current.id)

    def action_toggle_archived(self) -> None:
        self.show_archived = not self.show_archived
        self.refresh_sidebar()

    def action_export(self, fmt: str) -> None:
        session = self.controller.current
        if not session.stored:
            self.notify("Nothing to export yet", timeout=2)
            return
        text = self.controller.export(fmt)
        if not text:
            return
        name = re.sub(r"[^\w-]+", "-", session.title).strip("-").lower() or "session"
        path = Path.cwd() / f"ttt-{name}.{fmt}"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            self.notify(
                f"Can't write {path}: {error.strerror or error}", title="Export failed", severity="error"
            )
            return
        self.notify(f"Exported to {path}", title="Session exported")
