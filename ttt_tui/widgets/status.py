"""The status line under the composer: model, backend, why that model, tokens, cost, speed while streaming."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

ROUTE_CHARS = 48  # a route reason is cut to this


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
    route: str = ""  # why this model answered (an alias, ``auto``'s choice, a fallback)


class StatusLine(Static):
    def show(self, stats: Stats) -> None:
        parts: list[tuple[str, str]] = []
        parts.append((stats.model or "no model chosen", "bold"))
        if stats.backend:
            parts.append((stats.backend, "dim"))
        if stats.route:
            parts.append((_short(stats.route), "dim italic"))
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


def _short(reason: str) -> str:
    line = " ".join(reason.split())
    return line if len(line) <= ROUTE_CHARS else line[: ROUTE_CHARS - 1].rstrip() + "…"
