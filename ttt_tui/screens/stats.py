"""F2: what ``ttt stats`` shows — requests, latency, tokens and cost per backend and model, tool calls."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ttt.core.metrics import format_cost, format_seconds
from ttt.core.sanitize import terminal_safe
from ttt_tui.screen_text import screen_safe

SPANS = {"1": ("last hour", "1h"), "2": ("last day", "1d"), "3": ("last week", "7d"), "4": ("all time", "")}


def _request_cells(row: dict[str, Any]) -> list[str]:
    return [
        f"{row['requests']:,}",
        f"{row['errors']:,} ({row['error_rate']:.0%})",
        format_seconds(row["latency_p50"]),
        format_seconds(row["latency_p95"]),
        format_seconds(row["ttft_p50"]),
        f"{row['input_tokens']:,}",
        f"{row['output_tokens']:,}",
        format_cost(row["cost"]),
    ]


REQUEST_COLUMNS = ("Requests", "Errors", "p50", "p95", "First token", "Tokens in", "Tokens out", "Cost")


class StatsScreen(ModalScreen[None]):
    """Reads the metrics in the store (off the UI thread); 1–4 choose the time span."""

    CSS_PATH = "stats.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f2", "dismiss", "Close", id="stats.close"),
        *(
            Binding(key, f"span('{key}')", label, id=f"stats.{spec or 'all'}")
            for key, (label, spec) in SPANS.items()
        ),
    ]

    def __init__(self, span: str = "4") -> None:
        super().__init__()
        self.span = span
        self.summary: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-box"):
            yield Static(id="stats-title")
            for name in ("backends", "models", "tools", "errors"):
                yield Static(
                    Text(name.capitalize(), style="bold"), classes="stats-heading", id=f"stats-{name}-heading"
                )
                yield DataTable(id=f"stats-{name}", cursor_type="none", zebra_stripes=True)
            yield Static(Text("MCP servers", style="bold"), classes="stats-heading", id="stats-mcp-heading")
            yield DataTable(id="stats-mcp", cursor_type="none", zebra_stripes=True)
            yield Static(Text("1 hour · 2 day · 3 week · 4 all time · Esc closes", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#stats-backends", DataTable).add_columns("Backend", *REQUEST_COLUMNS)
        self.query_one("#stats-models", DataTable).add_columns("Model", *REQUEST_COLUMNS)
        self.query_one("#stats-tools", DataTable).add_columns(
            "Tool", "Calls", "Failed", "p50", "p95", "Outcomes"
        )
        self.query_one("#stats-errors", DataTable).add_columns("Error", "Count", "Share")
        self._show_mcp()
        self.action_span(self.span)

    def _show_mcp(self) -> None:
        """Each configured MCP server: starting, ready or failed (with its stderr tail)."""
        from ttt_tui.mcp_servers import statuses

        rows = statuses()
        table = self.query_one("#stats-mcp", DataTable)
        table.add_columns("Server", "Transport", "State", "Tools", "Detail")
        table.add_rows([[s.name, s.transport, s.state, str(s.tools), Text(s.detail)] for s in rows])
        table.display = self.query_one("#stats-mcp-heading").display = bool(rows)

    def action_span(self, key: str) -> None:
        self.span = key
        self.query_one("#stats-title", Static).update(
            Text(f"Usage · {SPANS[key][0]} · loading…", style="bold")
        )
        self._load(SPANS[key][1])

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, spec: str) -> None:
        from ttt.core.config import paths
        from ttt.core.metrics import parse_since, summarize

        try:
            summary = summarize(paths().database, parse_since(spec) if spec else None)
        except Exception as error:  # a damaged store: say so in the screen
            self.app.call_from_thread(self._failed, error)
            return
        self.app.call_from_thread(self.show, summary)

    def _failed(self, error: Exception) -> None:
        self.query_one("#stats-title", Static).update(
            Text(terminal_safe(f"Can't read the metrics: {error}"), style="bold red")
        )

    def show(self, summary: dict[str, Any]) -> None:
        summary = screen_safe(summary)  # model names and error types come from providers
        self.summary = summary
        total = summary["total"]
        title = Text(f"Usage · {SPANS[self.span][0]}", style="bold")
        title.append(
            f"   {total['requests']:,} requests · {total['input_tokens']:,} in / "
            f"{total['output_tokens']:,} out tokens · {format_cost(total['cost'])}",
            style="dim",
        )
        self.query_one("#stats-title", Static).update(title)
        rows = {
            "backends": [[r["backend"], *_request_cells(r)] for r in summary["backends"]],
            "models": [[r["model"], *_request_cells(r)] for r in summary["models"]],
            "tools": [
                [
                    t["name"],
                    f"{t['calls']:,}",
                    f"{t['errors']:,}",
                    format_seconds(t["duration_p50"]),
                    format_seconds(t["duration_p95"]),
                    ", ".join(f"{k} {v}" for k, v in t["outcomes"].items()),
                ]
                for t in summary["tools"]
            ],
            "errors": [[e["type"], f"{e['count']:,}", f"{e['rate']:.0%}"] for e in summary["errors"]],
        }
        for name, table_rows in rows.items():
            table = self.query_one(f"#stats-{name}", DataTable)
            table.clear()
            for row in table_rows:
                table.add_row(*(Text(str(cell)) for cell in row))
            table.display = bool(table_rows)
            heading = Text(name.capitalize(), style="bold")
            if not table_rows:
                heading.append("  none in this span", style="dim")
            self.query_one(f"#stats-{name}-heading", Static).update(heading)
