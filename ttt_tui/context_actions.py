"""The context meter, the transcript's context mark and Compact (a mixin of ``TTTApp``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work

from ttt.core.errors import AIError
from ttt_tui.controller import ContextState
from ttt_tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp

    _Base = TTTApp
else:
    _Base = object


class ContextActions(_Base):
    @work(exclusive=True, exit_on_error=False, group="context")
    async def update_context(self, model: str | None = None) -> None:
        """Measure the current session's next turn against ``model`` (a routed name; None: where
        the next prompt would go) and show it: the meter, and the mark above the first prompt
        the model still sees. The whole branch is read, so off the event loop."""
        session = self.controller.current
        if model is None:
            route, _ = await self.controller.probe()
            if route is None:
                return
            model = route.model
        state = await asyncio.to_thread(self.controller.context_state, model)
        if state is None or session is not self.controller.current:
            return
        stats = self._stats()
        stats.context, stats.window, stats.left_out = state.tokens, state.window, state.left_out > 0
        self.query_one(StatusLine).show(stats)
        await self.transcript.mark_context(state.first_seen, mark_text(state, model))

    async def action_compact(self) -> None:
        """Summarise the older turns with the session's model; the next turns send the summary."""
        if self.turn is not None:
            self.notify("Wait for the reply to finish, then compact.", timeout=3)
            return
        self.notify("Summarising the older turns…", timeout=2)
        self._compact()

    @work(exclusive=True, exit_on_error=False, group="turn")
    async def _compact(self) -> None:
        try:
            await self.controller.compact()
        except AIError as error:
            self.notify(error.message, title=error.title, severity="error", timeout=8, markup=False)
            return
        self.notify("Older turns summarised: the next turns send the summary instead.", timeout=4)
        self.update_context(self.routed_model())


def mark_text(state: ContextState, model: str) -> Text:
    """What the mark says: how many messages above it the model doesn't see, and why."""
    text = Text()
    if state.summarised:
        text.append(f"⋯ {state.summarised} earlier messages summarised; the model sees this summary:\n")
        text.append(state.summary, style="italic")
    if state.left_out:
        if text:
            text.append("\n")
        window = f"{state.window:,}" if state.window is not None else "?"
        earlier = "more" if state.summarised else "earlier messages"
        text.append(f"⋯ {state.left_out} {earlier} left out to fit {model}'s {window}-token window")
    return text
