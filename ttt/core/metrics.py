"""Per-request and per-tool-call metrics, kept in the session store for ``ttt stats``.

What a turn measured (``ttt.core.turn_metrics``) is written here by one background thread, so a
stream never waits on the disk, and a failed write is logged, never raised; ``summarize`` reads
it all back for ``ttt stats`` and the TUI's stats screen.
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttt.core.logs import get_logger

if TYPE_CHECKING:
    from ttt.core.turn_metrics import TurnMetrics

log = get_logger("metrics")

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ttt-metrics")


def submit(turn: TurnMetrics) -> Future[None] | None:
    """Write ``turn`` from the writer thread (``turn_metrics.record`` is the way in)."""
    from ttt.core.config import paths

    try:
        return _executor.submit(_write, paths().database, turn)
    except RuntimeError:  # the interpreter is shutting down
        return None


def drain() -> None:
    """Wait until every queued write is done (tests, and before reading in the same process)."""
    try:
        _executor.submit(lambda: None).result()
    except RuntimeError:  # at interpreter exit: the writer has already finished its queue
        pass


def _write(path: Path, turn: TurnMetrics) -> None:
    def run(db: Any) -> None:
        db.executemany(
            "INSERT INTO metric_requests (created, backend, model, seconds, ttft, input_tokens, "
            "output_tokens, cost, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.started,
                    r.backend,
                    r.model,
                    r.seconds or 0.0,
                    r.ttft,
                    r.input_tokens,
                    r.output_tokens,
                    r.cost,
                    r.error,
                )
                for r in turn.requests
            ],
        )
        db.executemany(
            "INSERT INTO metric_tool_calls (created, name, model, seconds, outcome) VALUES (?, ?, ?, ?, ?)",
            [(t.started, t.name, t.model, t.seconds, t.outcome) for t in turn.tools],
        )

    try:
        from ttt.core.session.shared import shared_store

        shared_store(path).write(run)
    except Exception as exc:  # metrics must never break a turn
        log.warning("could not record metrics in %s: %s", path, exc)


# --- reading -------------------------------------------------------------------------------------

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> float:
    """``1h``, ``30m``, ``7d``, ``2w`` ago, or an ISO date/time (local time unless it has a zone)."""
    now = time.time() if now is None else now
    span = _SPAN.match(text)
    if span:
        return now - float(span[1]) * _SECONDS[span[2].lower()]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"{text!r} is not a span like 1h, 30m, 7d or an ISO date such as 2025-06-01"
        ) from None


def format_seconds(value: float | None) -> str:
    """How ``ttt stats`` and the TUI's stats screen show a duration ("-" when unknown)."""
    return "-" if value is None else f"{value:.2f}s"


def format_cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _group(rows: list[tuple[Any, ...]], key: Any) -> dict[Any, list[tuple[Any, ...]]]:
    groups: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return dict(sorted(groups.items()))


def _requests_summary(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """rows: (backend, model, seconds, ttft, input_tokens, output_tokens, cost, error)."""
    ok = [r for r in rows if r[7] is None]
    costs = [r[6] for r in rows if r[6] is not None]
    return {
        "requests": len(rows),
        "errors": len(rows) - len(ok),
        "error_rate": round((len(rows) - len(ok)) / len(rows), 4) if rows else 0.0,
        "latency_p50": percentile([r[2] for r in ok], 50),
        "latency_p95": percentile([r[2] for r in ok], 95),
        "ttft_p50": percentile([r[3] for r in ok if r[3] is not None], 50),
        "ttft_p95": percentile([r[3] for r in ok if r[3] is not None], 95),
        "input_tokens": sum(r[4] for r in rows),
        "output_tokens": sum(r[5] for r in rows),
        "cost": round(sum(costs), 6) if costs else None,
    }


def summarize(path: Path, since: float | None = None) -> dict[str, Any]:
    """Everything ``ttt stats`` shows, as plain data (the TUI's stats screen reads the same)."""
    since = since or 0.0
    requests: list[tuple[Any, ...]] = []
    tools: list[tuple[Any, ...]] = []
    drain()
    if path.is_file():

        def run(db: Any) -> None:
            requests.extend(
                db.execute(
                    "SELECT backend, model, seconds, ttft, input_tokens, output_tokens, cost, error "
                    "FROM metric_requests WHERE created >= ? ORDER BY id",
                    (since,),
                ).fetchall()
            )
            tools.extend(
                db.execute(
                    "SELECT name, seconds, outcome FROM metric_tool_calls WHERE created >= ? ORDER BY id",
                    (since,),
                ).fetchall()
            )

        from ttt.core.session.store import Store

        with Store(path) as store:
            store.read(run)
    errors = _group([r for r in requests if r[7] is not None], lambda r: r[7])
    return {
        "since": datetime.fromtimestamp(since).isoformat(timespec="seconds") if since else None,
        "total": _requests_summary(requests),
        "backends": [
            {"backend": b, **_requests_summary(rows)} for b, rows in _group(requests, lambda r: r[0]).items()
        ],
        "models": [
            {"backend": b, "model": m, **_requests_summary(rows)}
            for (b, m), rows in _group(requests, lambda r: (r[0], r[1])).items()
        ],
        "errors": [
            {"type": kind, "count": len(rows), "rate": round(len(rows) / len(requests), 4)}
            for kind, rows in errors.items()
        ],
        "tools": [
            {
                "name": name,
                "calls": len(rows),
                "errors": sum(1 for r in rows if r[2] != "ok"),
                "duration_p50": percentile([r[1] for r in rows], 50),
                "duration_p95": percentile([r[1] for r in rows], 95),
                "outcomes": {o: sum(1 for r in rows if r[2] == o) for o in sorted({r[2] for r in rows})},
            }
            for name, rows in _group(tools, lambda r: r[0]).items()
        ],
    }
