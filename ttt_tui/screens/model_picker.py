"""Choose the model of this session: a fuzzy filter over every model of every backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ttt.core.models import ModelInfo
from ttt.core.sanitize import terminal_safe

Loader = Callable[[], Awaitable[list[ModelInfo]]]


class ModelPicker(ModalScreen[str | None]):
    """Dismisses with the chosen model name, or ``None``. Typing a name that is not listed uses it as is."""

    CSS_PATH = "model_picker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="picker.close"),
        Binding("down", "move(1)", "Next", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="picker.up"),
    ]

    def __init__(
        self, current: str, models: Sequence[ModelInfo] | None = None, loader: Loader | None = None
    ) -> None:
        super().__init__()
        self.current = current
        self.models = list(models or [])
        self.loader = loader

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(Text("Choose a model", style="bold"), id="picker-title")
            yield Input(placeholder="Filter models…", id="picker-filter")
            yield OptionList(id="picker-list")
            yield Static(id="picker-hint")

    def on_mount(self) -> None:
        self._show("")
        if self.loader is not None and not self.models:
            self.query_one("#picker-hint", Static).update(Text("Asking the backends…", style="dim"))
            self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        assert self.loader is not None
        try:
            self.models = await self.loader()
        except Exception as error:
            self.query_one("#picker-hint", Static).update(
                Text(terminal_safe(f"Could not list models: {error}"), style="red")
            )
            return
        self._show(self.query_one(Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        listing = self.query_one(OptionList)
        matcher = Matcher(query) if query else None
        scored = [(matcher.match(_haystack(m)) if matcher else 1.0, m) for m in self.models]
        ranked = [m for score, m in sorted(scored, key=lambda pair: -pair[0]) if score > 0]
        listing.set_options(Option(_row(m, m.name == self.current), id=m.name) for m in ranked)
        if ranked:
            names = [m.name for m in ranked]
            current = names.index(self.current) if self.current in names else 0
            listing.highlighted = current if not query else 0
        if self.models:
            hint = f"{len(ranked)} of {len(self.models)} models · Enter to choose · Esc to close"
            self.query_one("#picker-hint", Static).update(Text(hint, style="dim"))

    def action_move(self, step: int) -> None:
        listing = self.query_one(OptionList)
        if listing.option_count:
            current = listing.highlighted if listing.highlighted is not None else -step
            listing.highlighted = (current + step) % listing.option_count

    def on_input_submitted(self, event: Input.Submitted) -> None:
        listing = self.query_one(OptionList)
        if listing.highlighted is not None and listing.option_count:
            self.dismiss(listing.get_option_at_index(listing.highlighted).id)
        elif event.value.strip():
            self.dismiss(event.value.strip())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def _haystack(model: ModelInfo) -> str:
    return " ".join([model.name, model.backend, *model.aliases])


def _row(model: ModelInfo, current: bool) -> Text:
    mark = ("● ", "green") if model.available else ("○ ", "dim")
    row = Text.assemble(mark, (model.name, "bold" if current else ""))
    details = [model.backend, f"{model.context_length // 1000}k ctx"]
    if model.aliases:
        details.append("aka " + ", ".join(model.aliases))
    if current:
        details.append("current")
    row.append("   " + " · ".join(d for d in details if d), style="dim")
    return row
