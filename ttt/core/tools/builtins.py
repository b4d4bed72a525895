"""The built-in tools. Their names and argument names are part of ttt's interface.

Read-only tools default to ``allow``; tools that write, run code or reach the network default
to ``ask``. Settings come from ``ttt.core.tools.context.current_tools_config()``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import Tool, tool
from ttt.core.tools.calc import evaluate, format_number
from ttt.core.tools.files import list_directory, read_file, write_file
from ttt.core.tools.net import http_request, web_search
from ttt.core.tools.sandbox import run_python


@tool(category="time", register=False)
def get_current_time(timezone: str = "UTC") -> str:
    """Get the current date and time in a time zone.

    Args:
        timezone: An IANA time zone name such as 'Asia/Tokyo', 'Europe/Paris' or 'UTC'.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolExecutionError(
            f"unknown time zone '{timezone}': use an IANA name such as 'America/New_York' or 'UTC'"
        ) from None
    now = datetime.now(zone)
    return f"{now.isoformat(timespec='seconds')} ({now:%A}, {now.tzname()}, {timezone})"


@tool(category="math", register=False)
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly, e.g. '2**32 / 7' or 'sqrt(2) * pi'.

    Args:
        expression: Numbers, + - * / // % ** and parentheses, the constants pi, e, tau and the functions
            sqrt, exp, log, log10, log2, sin, cos, tan, asin, acos, atan, atan2, hypot, degrees, radians,
            floor, ceil, round, abs, min, max, factorial.
    """
    try:
        return format_number(evaluate(expression))
    except ValueError as exc:
        raise ToolExecutionError(str(exc)) from None


BUILTIN_TOOLS: list[Tool] = [
    get_current_time,
    calculate,
    read_file,
    write_file,
    list_directory,
    run_python,
    http_request,
    web_search,
]
