"""F1 / ?: every key binding, with the id to use in the config's ``[tui.keymap]``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    """Lists (id, keys, what it does); keys reflect the user's keymap."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: Iterable[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = list(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("Keyboard shortcuts", style="bold"), id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                Text(
                    'Remap any key in the config file: [tui.keymap] "composer.send" = "ctrl+s"', style="dim"
                ),
                id="help-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Keys", "Action", "Id")
        for keys, description, binding_id in self.rows:
            table.add_row(Text(keys, style="bold"), Text(description), Text(binding_id, style="dim"))


def describe(bindings: Iterable[Binding], keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """Rows for the help table: effective keys (after the keymap), description and id."""
    rows = []
    for binding in bindings:
        if not binding.id:
            continue
        keys = keymap.get(binding.id, binding.key)
        rows.append((", ".join(_pretty(k) for k in keys.split(",")), binding.description, binding.id))
    return rows


def _pretty(key: str) -> str:
    names = {"question_mark": "?", "escape": "Esc", "enter": "Enter", "delete": "Del"}
    key = key.strip()
    return "+".join(names.get(part, part.capitalize() if len(part) > 1 else part) for part in key.split("+"))
