"""The app's own commands: attachments, stats, config reload, panels, help (a mixin of ``TTTApp``).

The screens load when first opened: importing them (DataTable, DirectoryTree) would delay the first frame.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from ttt.core import api
from ttt.core.config import files_signature
from ttt.core.errors import AIError
from ttt_tui.widgets.attachments import AttachmentBar
from ttt_tui.widgets.composer import Composer
from ttt_tui.widgets.inspector import ToolInspector
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage
from ttt_tui.widgets.sidebar import SessionSidebar

if TYPE_CHECKING:
    from ttt_tui.app import TTTApp

    _Base = TTTApp
else:
    _Base = object


class ViewActions(_Base):
    """Everything here is independent of sessions and turns."""

    def action_attach(self) -> None:
        from ttt_tui.screens.attach import AttachScreen

        self.push_screen(AttachScreen(), self.attach)

    def attach(self, path: str | None) -> None:
        """Check the file now (missing, too big, binary: a notification) and show it as a chip."""
        if not path:
            return
        from ttt.core.attachments import load

        try:
            load([path], api.get_config().attachments)
        except AIError as error:
            self.notify(error.message, title="Can't attach", severity="error", timeout=8, markup=False)
            return
        self.query_one(AttachmentBar).add_path(path)
        self.composer.focus()

    def action_stats(self) -> None:
        from ttt_tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen())

    def check_config(self) -> None:
        """Polled each second: an edited config file applies at once; a broken one is reported and ignored."""
        signature = files_signature()
        if signature == self._config_signature:
            return
        self._config_signature = signature
        before = api.get_config().tui.theme
        try:
            config = api.reload_config()
        except AIError as error:
            message = f"{error.message}\nThe previous settings stay in use."
            self.notify(message, title=error.title, severity="error", timeout=10, markup=False)
            return
        if config.tui.theme != before and config.tui.theme in self.available_themes:  # edited now
            self.theme = config.tui.theme
        if dict(config.tui.keymap) != self.keymap:
            self.apply_keymap(config.tui.keymap)
        self.notify("Configuration reloaded", timeout=2)

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(ToolInspector)
        inspector.display = not inspector.display

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(SessionSidebar)
        sidebar.display = not sidebar.display

    def action_focus_composer(self) -> None:
        self.composer.focus()

    def action_help(self) -> None:
        from ttt_tui.screens.help import HelpScreen, describe

        rows = describe(_bindings(self.BINDINGS, Composer, SessionSidebar, *MESSAGE_VIEWS), self.keymap)
        rows.append(("Ctrl+P", "Command palette", "command_palette"))
        self.push_screen(HelpScreen(rows))

    def apply_keymap(self, keymap: dict[str, str]) -> None:
        """Use ``keymap`` (binding id -> keys); an id no binding has is reported, with the
        nearest real one, instead of being ignored without a word."""
        self.keymap = dict(keymap)
        self.set_keymap(self.keymap)
        known = binding_ids(self.BINDINGS) if self.keymap else set()  # imports the screens
        for name in sorted(set(self.keymap) - known):
            message = _unknown_id(name, known)
            self.notify(message, title="Unknown key binding id", severity="warning", timeout=10, markup=False)

    def _remember_theme(self, _theme: object) -> None:
        """The theme chosen in the app is remembered in the state file, not the user's config."""
        from ttt_tui.ui_state import remember

        remember("theme", self.theme)


MESSAGE_VIEWS = (MessageView, UserMessage, AssistantMessage)


def _bindings(*owners: Any) -> list[Binding]:
    """The bindings of ``owners`` (classes with ``BINDINGS``, or such lists themselves)."""
    found = [b for owner in owners for b in getattr(owner, "BINDINGS", owner)]
    return [b for b in found if isinstance(b, Binding)]


def binding_ids(app_bindings: Sequence[Any]) -> set[str]:
    """Every id ``[tui.keymap]`` can name: the app's, its widgets' and its screens'."""
    from ttt_tui.screens import attach, dialogs, help, model_picker, stats

    screens = [
        attach.AttachScreen,
        dialogs.ApprovalScreen,
        dialogs.ConfirmScreen,
        dialogs.TextScreen,
        help.HelpScreen,
        model_picker.ModelPicker,
        stats.StatsScreen,
    ]
    bindings = _bindings(app_bindings, Composer, SessionSidebar, *MESSAGE_VIEWS, *screens)
    return {b.id for b in bindings if b.id}


def _unknown_id(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.4)
    if not close:  # "send" -> "composer.send": the id's last part is what people remember
        close = sorted(k for k in known if k.rsplit(".", 1)[-1] == name)[:1]
    hint = f' Did you mean "{close[0]}"?' if close else ""
    return f'[tui.keymap] names "{name}", which is no key binding id, so it does nothing.{hint} F1 lists every id.'
