"""``ttt stats``: what the recorded requests and tool calls say (``ttt.core.metrics``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ttt.cli.render import print_table
from ttt.core.metrics import format_cost, format_seconds
from ttt.core.sanitize import json_safe


def add_parsers(commands: Any) -> None:
    stats = commands.add_parser(
        "stats",
        help="request counts, latency, tokens, cost, errors and tool statistics",
        description="Latency and time to first token count from when each request went to the "
        "backend (routing is not included), as `ttt -p --json` reports them.",
    )
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="only requests after WHEN: 1h, 30m, 7d, 2w or an ISO date",
    )
    stats.set_defaults(handler=cmd_stats)


def _since(text: str) -> float:
    from ttt.core.metrics import parse_since

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_stats(args: argparse.Namespace) -> int:
    from ttt.core.config import paths
    from ttt.core.metrics import summarize

    summary = summarize(paths().database, args.since)
    if args.json:
        print(json_safe(json.dumps(summary, indent=2)))
        return 0
    total = summary["total"]
    window = f" since {summary['since']}" if summary["since"] else ""
    if not total["requests"] and not summary["tools"]:
        print(f"No requests recorded{window}.")
        return 0
    print(
        f"{total['requests']} requests{window}: {total['errors']} failed ({_percent(total['error_rate'])}), "
        f"{total['input_tokens']:,} tokens in, {total['output_tokens']:,} out, cost {format_cost(total['cost'])}"
    )
    print()
    print_table(
        ("BACKEND", "MODEL", "REQS", "ERRORS", "P50", "P95", "TTFT P50", "TTFT P95", "IN", "OUT", "COST"),
        [
            (
                m["backend"],
                m["model"],
                str(m["requests"]),
                _percent(m["error_rate"]),
                format_seconds(m["latency_p50"]),
                format_seconds(m["latency_p95"]),
                format_seconds(m["ttft_p50"]),
                format_seconds(m["ttft_p95"]),
                f"{m['input_tokens']:,}",
                f"{m['output_tokens']:,}",
                format_cost(m["cost"]),
            )
            for m in summary["models"]
        ],
    )
    if summary["errors"]:
        print()
        print_table(
            ("ERROR", "COUNT", "RATE"),
            [(e["type"], str(e["count"]), _percent(e["rate"])) for e in summary["errors"]],
        )
    if summary["tools"]:
        print()
        print_table(
            ("TOOL", "CALLS", "ERRORS", "P50", "P95", "OUTCOMES"),
            [
                (
                    t["name"],
                    str(t["calls"]),
                    str(t["errors"]),
                    format_seconds(t["duration_p50"]),
                    format_seconds(t["duration_p95"]),
                    ", ".join(f"{k} {v}" for k, v in t["outcomes"].items()),
                )
                for t in summary["tools"]
            ],
        )
    return 0


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"
