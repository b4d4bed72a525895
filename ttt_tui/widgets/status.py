"""The status line under the composer: model, backend, tokens, cost and speed while streaming."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass
class Stats:
    """What the line shows; totals are per session."""

    model: str = ""
    backend: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    rate: float | None = None  # tokens/s, only while a reply streams
    state: str = ""  # "streaming", "stopped", ...


class StatusLine(Static):
    def show(self, stats: Stats) -> None:
        parts: list[tuple[str, str]] = []
        parts.append((stats.model or "no model chosen", "bold"))
        if stats.backend:
            parts.append((stats.backend, "dim"))
        parts.append((f"↑{stats.input_tokens:,} ↓{stats.output_tokens:,} tokens", ""))
        if stats.cost:
            parts.append((f"${stats.cost:.4f}", ""))
        if stats.rate is not None:
            parts.append((f"{stats.rate:,.0f} tok/s", "bold"))
        if stats.state:
            parts.append((stats.state, "italic"))
        text = Text(" ")
        for number, (value, style) in enumerate(parts):
            if number:
                text.append("  ·  ", style="dim")
            text.append(value, style=style)
        self.update(text)
