"""Bounds of numeric settings, declared on each field's type (``retries: Count = 2``), so the
range of a setting sits next to it and the config validator checks every layer against it.

A value out of range would otherwise surface far from its cause: ``retries = -5`` as an
assertion in the engine, ``pool_size = 0`` as every request waiting forever for a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated


@dataclass(frozen=True)
class Range:
    """``low`` <= value (< when ``above``) <= ``high``; either end may be open."""

    low: float | None = None
    high: float | None = None
    above: bool = False  # low itself is out (a timeout of 0 s is not a timeout)

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return self.describe()
        if self.high is not None and value > self.high:
            return self.describe()
        return None

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"must be between {self.low:g} and {self.high:g}"
        if self.low is not None:
            return f"must be {'more than' if self.above else 'at least'} {self.low:g}"
        return f"must be at most {self.high:g}"


Seconds = Annotated[float, Range(0, above=True)]
Count = Annotated[int, Range(0)]  # zero allowed: retries, tool rounds, threads ("default")
AtLeastOne = Annotated[int, Range(1)]  # sizes, windows, pools
NonNegative = Annotated[float, Range(0)]  # prices
Temperature = Annotated[float, Range(0, 2)]
