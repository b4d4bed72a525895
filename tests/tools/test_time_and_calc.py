"""get_current_time and calculate, including the expressions meant to hang a naive evaluator."""

from __future__ import annotations

import time

import pytest

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.builtins import calculate, get_current_time


def test_current_time_in_a_zone() -> None:
    tokyo = get_current_time("Asia/Tokyo")
    assert "+09:00" in tokyo and "JST" in tokyo and "Asia/Tokyo" in tokyo
    assert "+00:00" in get_current_time()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", ""])
def test_unknown_time_zone_is_a_clear_error(zone: str) -> None:
    with pytest.raises(ToolExecutionError, match="unknown time zone"):
        get_current_time(zone)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("2 ** 10", "1024"),
        ("-2 ** 2", "-4"),
        ("7 // 2", "3"),
        ("7 % 4", "3"),
        ("7 / 2", "3.5"),
        ("0.1 + 0.2", "0.3"),
        ("sqrt(16) + abs(-2)", "6"),
        ("round(pi, 3)", "3.142"),
        ("log(8, 2)", "3"),
        ("factorial(5)", "120"),
        ("max(3, 9, 4)", "9"),
        ("10 ** 1000", "1" + "0" * 1000),
    ],
)
def test_calculate(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "too large"),
        ("10**10000", "too large"),
        ("(10**600) * (10**600)", "too large"),
        ("factorial(100000)", "too large"),
        ("2.0 ** 100000", "too large"),
        ("exp(1000)", "too large"),
        ("1 / 0", "division by zero"),
        ("(-8) ** 0.5", "not a real number"),
        ("sqrt(-1)", "math domain error"),
        ("2 ^ 8", "write 2\\*\\*10"),
        ("__import__('os').system('true')", "cannot evaluate"),
        ("().__class__", "cannot evaluate"),
        ("x + 1", "cannot evaluate 'x'"),
        ("True + 1", "cannot evaluate"),
        ("'a' * 10", "cannot evaluate"),
        ("1 +", "not a valid expression"),
        ("(" * 300 + "1" + ")" * 300, "not a valid expression"),
        ("1+" * 600 + "1", "longer than"),
    ],
)
def test_calculate_refuses_quickly(expression: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ToolExecutionError, match=message):
        calculate(expression)
    assert time.perf_counter() - started < 0.5
