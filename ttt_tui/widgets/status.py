"""The status line under the composer: model, backend, why that model, context used of the model's
window, tokens, cost, speed while streaming."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ttt.core.text import shorten

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
    context: int | None = None  # estimated tokens the next turn sends before its prompt
    window: int | None = None  # the answering model's context window; None when unknown
    left_out: bool = False  # older messages don't fit the window


class StatusLine(Static):
    def show(self, stats: Stats) -> None:
        parts: list[tuple[str, str]] = []
        parts.append((stats.model or "no model chosen", "bold"))
        if stats.backend:
            parts.append((stats.backend, "dim"))
        if stats.route:
            parts.append((shorten(stats.route, ROUTE_CHARS), "dim italic"))
        if stats.context is not None:
            parts.append(meter(stats.context, stats.window, stats.left_out))
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


def meter(used: int, window: int | None, left_out: bool) -> tuple[str, str]:
    """``12k/128k ctx``: warns from 80 % of the window, or when older messages are left out."""
    if window is None:
        return f"{_k(used)} ctx (window unknown)", "dim"
    full = left_out or used >= 0.8 * window
    return f"{_k(used)}/{_k(window)} ctx", "bold yellow" if full else ""


def _k(tokens: int) -> str:
    return f"{tokens // 1000}k" if tokens >= 1000 else str(tokens)
