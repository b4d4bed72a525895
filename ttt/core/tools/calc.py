"""Arithmetic for the ``calculate`` tool: a walk over the expression's AST, never ``eval``.

Only numbers, + - * / // % **, unary signs, parentheses and a few math functions and constants
are understood. Sizes are estimated before computing, so ``9**9**9`` is refused instead of
freezing the process.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

Number = int | float
MAX_LENGTH = 1_000  # characters of expression
MAX_DIGITS = 1_000  # decimal digits of any integer along the way
_LOG10_2 = math.log10(2)


def _power(base: Number, exponent: Number) -> Number:
    whole = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if whole and exponent * math.log10(abs(base)) > MAX_DIGITS:
        raise ValueError(f"result is too large (more than {MAX_DIGITS} digits)")
    result = base**exponent
    if isinstance(result, complex):
        raise ValueError("result is not a real number")
    return result


def _multiply(left: Number, right: Number) -> Number:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and (left.bit_length() + right.bit_length()) * _LOG10_2 > MAX_DIGITS + 1
    ):
        raise ValueError(f"result is too large (more than {MAX_DIGITS} digits)")
    return left * right


def _factorial(n: Number) -> int:
    if not isinstance(n, int) or n < 0:
        raise ValueError("factorial needs a non-negative integer")
    if n > 1 and math.lgamma(n + 1) / math.log(10) > MAX_DIGITS:
        raise ValueError(f"result is too large (more than {MAX_DIGITS} digits)")
    return math.factorial(n)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    **{
        name: getattr(math, name)
        for name in ("sqrt", "exp", "log", "log10", "log2", "floor", "ceil", "hypot")
    },
    **{name: getattr(math, name) for name in ("sin", "cos", "tan", "asin", "acos", "atan", "atan2")},
    **{name: getattr(math, name) for name in ("degrees", "radians")},
    "factorial": _factorial,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}


def evaluate(expression: str) -> Number:
    """The value of ``expression``; raises ValueError with a reason a model can act on."""
    if len(expression) > MAX_LENGTH:
        raise ValueError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
        return _eval(tree.body)
    except SyntaxError:
        raise ValueError(f"not a valid expression: {expression!r}") from None
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except OverflowError:
        raise ValueError("result is too large") from None
    except (RecursionError, MemoryError):
        raise ValueError("expression is nested too deeply") from None


def _eval(node: ast.expr) -> Number:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):
            raise ValueError("'^' is not a power here: write 2**10")
        if type(node.op) in _BINARY:
            return _BINARY[type(node.op)](_eval(node.left), _eval(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = _FUNCTIONS.get(node.func.id)
        if function is not None:
            arguments = [_eval(argument) for argument in node.args]
            try:
                return function(*arguments)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{node.func.id}: {exc}") from None
    names = ", ".join(sorted(_FUNCTIONS))
    raise ValueError(
        f"cannot evaluate {ast.unparse(node)!r}: use numbers, + - * / // % **, parentheses, "
        f"the constants pi, e, tau, inf and the functions {names}"
    )


def format_number(value: Number) -> str:
    """Integers exactly; floats to 15 significant digits, hiding binary noise like 0.1+0.2."""
    return str(value) if isinstance(value, int) else format(value, ".15g")
