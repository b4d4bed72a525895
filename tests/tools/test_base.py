"""Schemas from signatures and docstrings, the decorator forms, and argument validation."""

from __future__ import annotations

import enum
from typing import Any, Literal, Optional

import pytest

from ttt.core.tools.base import Tool, tool, validate_arguments
from ttt.core.tools.registry import tool_registry
from ttt.core.types import ToolSpec


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


def forecast(
    city: str,
    days: int,
    ratio: float = 0.5,
    detailed: bool = False,
    tags: list[str] | None = None,
    extra: dict[str, int] | None = None,
    note: Optional[str] = None,  # noqa: UP045 - Optional must keep working
    mode: Literal["fast", "slow"] = "fast",
    unit: Unit = Unit.CELSIUS,
    anything: Any = None,
    untyped="x",
    *args: Any,
    **kwargs: Any,
) -> str:
    """Get the weather forecast for a city.

    Uses the national service when it can.

    Args:
        city: The city name, e.g. 'Paris'.
        days (int): How many days ahead,
            from 1 to 7.
        unit: Temperature unit.

    Returns:
        A short forecast.
    """
    return f"{city} {days} {ratio} {unit}"


def test_schema_from_signature_and_docstring() -> None:
    made = Tool.from_function(forecast)
    assert made.name == "forecast"
    assert (
        made.description == "Get the weather forecast for a city.\n\nUses the national service when it can."
    )
    props = made.parameters["properties"]
    assert made.parameters["type"] == "object"
    assert made.parameters["required"] == ["city", "days"]
    assert props["city"] == {"type": "string", "description": "The city name, e.g. 'Paris'."}
    assert props["days"] == {"type": "integer", "description": "How many days ahead, from 1 to 7."}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["detailed"] == {"type": "boolean", "default": False}
    assert props["tags"] == {"type": ["array", "null"], "items": {"type": "string"}, "default": None}
    assert props["extra"] == {
        "type": ["object", "null"],
        "additionalProperties": {"type": "integer"},
        "default": None,
    }
    assert props["note"] == {"type": ["string", "null"], "default": None}
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert props["unit"] == {
        "type": "string",
        "enum": ["celsius", "fahrenheit"],
        "description": "Temperature unit.",
        "default": "celsius",
    }
    assert props["anything"] == {"default": None}
    assert props["untyped"] == {"type": "string", "default": "x"}
    assert "args" not in props and "kwargs" not in props
    assert made.spec == ToolSpec("forecast", made.description, made.parameters)
    assert made.is_async is False


def test_plain_containers_and_unions() -> None:
    def f(items: list, table: dict, either: int | str, maybe: list[int] | None) -> None:
        """Containers."""

    props = Tool.from_function(f).parameters["properties"]
    assert props["items"] == {"type": "array"}
    assert props["table"] == {"type": "object"}
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["maybe"] == {"type": ["array", "null"], "items": {"type": "integer"}}


def test_unsupported_types_and_bad_names_are_refused() -> None:
    def f(when: complex) -> None:
        """Nope."""

    with pytest.raises(TypeError, match="unsupported parameter type"):
        Tool.from_function(f)
    with pytest.raises(ValueError, match="not valid"):
        Tool.from_function(lambda x: x)


def test_decorator_bare_with_options_and_registration() -> None:
    @tool
    def shout(text: str) -> str:
        """Upper-case some text."""
        return text.upper()

    @tool(
        name="whisper_text", category="text", description="Lower-case text.", permission="ask", register=False
    )
    async def whisper(text: str) -> str:
        return text.lower()

    try:
        assert isinstance(shout, Tool) and shout("hi") == "HI"  # still callable like the function
        assert tool_registry.get("shout") is shout
        assert (shout.category, shout.permission, shout.description) == (
            "custom",
            "allow",
            "Upper-case some text.",
        )
        assert whisper.name == "whisper_text" and whisper.category == "text" and whisper.permission == "ask"
        assert whisper.description == "Lower-case text." and whisper.is_async
        assert tool_registry.get("whisper_text") is None
    finally:
        tool_registry.unregister("shout")


def test_from_function_returns_existing_tools_and_reoptions_them() -> None:
    made = Tool.from_function(forecast)
    assert Tool.from_function(made) is made
    renamed = Tool.from_function(made, name="weather", permission="deny")
    assert (renamed.name, renamed.permission, renamed.func) == ("weather", "deny", forecast)


def test_validation_accepts_and_coerces() -> None:
    made = Tool.from_function(forecast)
    args = validate_arguments(
        made, {"city": "Oslo", "days": 3.0, "ratio": 1, "unit": "fahrenheit", "note": None}
    )
    assert args == {"city": "Oslo", "days": 3, "ratio": 1.0, "unit": Unit.FAHRENHEIT, "note": None}
    assert isinstance(args["ratio"], float) and isinstance(args["days"], int)
    # null for an optional argument that is not nullable means "use the default"
    assert validate_arguments(made, {"city": "Oslo", "days": 1, "mode": None}) == {"city": "Oslo", "days": 1}
    assert made(**args) == "Oslo 3 1.0 Unit.FAHRENHEIT"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"days": 1}, "missing required argument 'city'"),
        ({}, "missing required arguments 'city', 'days'"),
        ({"city": "x", "days": 1, "colour": "red"}, "unknown argument 'colour'"),
        ({"city": 5, "days": 1}, "argument 'city' must be a string, not 5"),
        ({"city": "x", "days": 1.5}, "argument 'days' must be an integer, not 1.5"),
        ({"city": "x", "days": True}, "argument 'days' must be an integer, not true"),
        ({"city": "x", "days": 1, "detailed": "yes"}, "must be true or false"),
        (
            {"city": "x", "days": 1, "mode": "medium"},
            "argument 'mode' must be one of 'fast', 'slow', not 'medium'",
        ),
        ({"city": "x", "days": 1, "unit": "kelvin"}, "must be one of 'celsius', 'fahrenheit'"),
        ({"city": "x", "days": 1, "tags": ["a", 2]}, r"argument 'tags'\[1\] must be a string"),
        ({"city": "x", "days": 1, "extra": {"a": "b"}}, r"argument 'extra'\['a'\] must be an integer"),
        ({"city": None, "days": 1}, "argument 'city' must be a string, not null"),
    ],
)
def test_validation_errors_are_readable(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_arguments(Tool.from_function(forecast), arguments)


def test_validation_of_a_hand_written_schema() -> None:
    made = Tool(
        name="lookup",
        description="Look something up.",
        parameters={"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
        func=lambda id: id,
    )
    assert validate_arguments(made, {"id": 4}) == {"id": 4}
    with pytest.raises(ValueError, match="must be a JSON object"):
        validate_arguments(made, ["id", 4])
