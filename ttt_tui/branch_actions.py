"""Branches on screen: regenerate and edit add one beside the old, ``‹ 2/3 ›`` walks them, and a
whole session can be forked into a new one (a mixin of ``TTTApp``).

The store keeps every branch; the transcript shows the active one, and what is shown is what the
model is sent next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ttt.core.session.store import StoredMessage
from ttt_tui.widgets.message import MessageView, UserMessage
from ttt_tui.widgets.transcript import views_for

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp

    _Base = TTTApp
else:
    _Base = object


class BranchActions(_Base):
    """Each action works on the branch of the current session on screen."""

    def views(self, messages: Sequence[StoredMessage]) -> list[MessageView]:
        """Views of stored messages, those with siblings showing ``‹ n/m ›``."""
        views = views_for(messages)
        points = self.controller.branch_points([m.id for m in messages])
        for view in views:
            view.branch = points.get(view.index) if view.index is not None else None
        return views

    def show_branches(self, views: Sequence[MessageView]) -> None:
        """Show where these (just stored) messages stand among their siblings."""
        points = self.controller.branch_points([v.index for v in views if v.index is not None])
        for view in views:
            view.set_branch(points.get(view.index) if view.index is not None else None)

    async def action_regenerate(self) -> None:
        """Ask the branch's last prompt again; the new reply goes beside the old one."""
        if self.turn is not None:
            return
        prompt = self.controller.last_prompt() if self.controller.current.stored else None
        if prompt is None:
            self.notify("Nothing to regenerate yet", timeout=2)
            return
        if self.transcript.has_newer:  # scrolled far back: the newest page holds the last prompt
            await self._show_newest()
        last_user = self.transcript.latest(UserMessage)
        children = list(self.transcript.children)
        if last_user is not None and children[-1] is not last_user:
            await self.transcript.cut_from(children[children.index(last_user) + 1])
        if self.composer.text == prompt:  # a failed prompt given back: it is being asked now
            self.composer.clear()
        await self.send(prompt, again=True)

    async def on_user_message_edit_requested(self, event: UserMessage.EditRequested) -> None:
        """Edit an earlier prompt: the branch goes back to before it and the prompt returns to the
        composer; sending it adds a branch beside the old one, in this session."""
        if self.turn is not None or event.view.index is None:
            return
        prompt = self.controller.edit(event.view.index)
        if prompt is None:
            return
        await self.transcript.cut_from(event.view)
        self.composer.load_text(prompt)
        self.composer.focus()
        self.notify("Edit the prompt and press Enter: it is kept beside the old one (Alt+←/→)", timeout=3)

    async def action_branch(self, step: int) -> None:
        """Walk the siblings of the focused message, else of the newest one that has any."""
        focused = self.focused
        if isinstance(focused, MessageView) and focused.branch is not None:
            await self.walk(focused, step)
            return
        views = [v for v in self.transcript.query_children(MessageView) if v.branch is not None]
        if not views:
            self.notify("No other branches here: Ctrl+R or editing a prompt (e) makes one", timeout=3)
            return
        await self.walk(views[-1], step)

    async def on_message_view_branch_requested(self, event: MessageView.BranchRequested) -> None:
        await self.walk(event.view, event.step)

    async def walk(self, view: MessageView, step: int) -> None:
        """Show the sibling ``step`` places from ``view``'s message and the rest of its branch."""
        if self.turn is not None:
            self.notify("A reply is still streaming — Esc stops it", severity="warning", timeout=3)
            return
        if view.index is None:
            return
        shown = self.controller.switch_branch(view.index, step)
        if shown is None:
            return
        focused = self.focused is view
        await self.open_session(self.controller.current.id)
        if focused:  # the view was replaced: its sibling takes the focus, if it is on this page
            found = [v for v in self.transcript.query_children(MessageView) if v.index == shown]
            (found[0] if found else self.composer).focus()

    async def action_fork_session(self) -> None:
        """A copy of the branch on screen as a new session of its own."""
        forked = self.controller.fork() if self.controller.current.stored else None
        if forked is None:
            self.notify("Nothing to fork yet", timeout=2)
            return
        await self.open_session(forked)
        self.notify(f"Forked into “{self.controller.current.title}”", timeout=3)
