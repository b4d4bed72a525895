"""Tools: a Python function plus the JSON schema a model needs to call it.

``@tool`` (bare or with options) and ``Tool.from_function`` build the schema from the signature
and a Google-style docstring, so plain functions work as tools without extra declarations.
``validate_arguments`` checks what a model sent against that schema before anything runs.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, overload

from ttt.core.config import Permission
from ttt.core.types import ImagePart, ToolSpec

DEFAULT_CATEGORY = "custom"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARG_SECTIONS = frozenset({"args", "arguments", "parameters", "params"})
_SECTIONS = _ARG_SECTIONS | {"returns", "return", "raises", "yields", "examples", "example", "note", "notes"}
_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(eq=False)
class Tool:
    """A callable offered to models. Calling the object calls the function, so decorated code still works.

    Tools compare and hash by identity, like the functions they wrap.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Any]
    category: str = DEFAULT_CATEGORY
    permission: Permission = "allow"
    is_async: bool = False
    annotations: dict[str, Any] = field(default_factory=dict, repr=False)
    # why a call with these arguments needs the user's yes even when the tool is allowed, or None
    ask_if: Callable[[dict[str, Any]], str | None] | None = field(default=None, repr=False)
    timeout: float | None = None  # seconds per call; None: tools.timeout
    source: str = ""  # where it comes from when not built in or a plugin, e.g. "mcp:<server>"

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        category: str | None = None,
        permission: Permission | None = None,
    ) -> Tool:
        """Build a tool from a plain function (a ``Tool`` is returned as is when no option changes it)."""
        if isinstance(func, Tool):
            if not (name or description or category or permission):
                return func
            made = cls.from_function(
                func.func,
                name=name or func.name,
                description=description or func.description,
                category=category or func.category,
                permission=permission or func.permission,
            )
            made.ask_if = func.ask_if
            return made
        tool_name = name or str(getattr(func, "__name__", ""))
        if not _NAME.match(tool_name):
            raise ValueError(
                f"tool name {tool_name!r} is not valid: use 1-64 letters, digits, '_' or '-' (pass name=...)"
            )
        if permission not in (None, "allow", "ask", "deny"):
            raise ValueError(f"permission must be 'allow', 'ask' or 'deny', not {permission!r}")
        summary, arg_docs = parse_docstring(inspect.getdoc(func) or "")
        parameters, annotations = function_schema(func, arg_docs)
        return cls(
            name=tool_name,
            description=description or summary or tool_name.replace("_", " "),
            parameters=parameters,
            func=func,
            category=category or DEFAULT_CATEGORY,
            permission=permission or "allow",
            is_async=inspect.iscoroutinefunction(func),
            annotations=annotations,
        )


@dataclass
class ToolOutput:
    """What a tool may return instead of plain text: images beside the text, or an error the
    tool reported itself (MCP servers answer this way)."""

    text: str
    images: list[ImagePart] = field(default_factory=list)
    is_error: bool = False


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    permission: Permission | None = None,
    register: bool = True,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    permission: Permission | None = None,
    register: bool = True,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a ``Tool`` and (unless ``register=False``) add it to ``tool_registry``.

    Registering lets users name the tool (``--tools my_tool``); passing the object works either way.
    """

    def decorate(f: Callable[..., Any]) -> Tool:
        made = Tool.from_function(
            f, name=name, description=description, category=category, permission=permission
        )
        if register:
            from ttt.core.tools.registry import tool_registry

            tool_registry.register(made)
        return made

    return decorate(func) if func is not None else decorate


# --- schema from signature --------------------------------------------------------------------


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (text before the sections, {argument: description})."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section = ""
    arg_indent = -1
    current = ""
    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent == 0 and stripped.endswith(":") and stripped[:-1].lower() in _SECTIONS:
            section, arg_indent, current = stripped[:-1].lower(), -1, ""
            continue
        if not section:
            summary.append(line)
        elif indent == 0 and stripped:
            section = "other"  # unindented text ends a section
        elif section in _ARG_SECTIONS and stripped:
            if arg_indent < 0:
                arg_indent = indent
            match = _ARG_LINE.match(stripped)
            if indent <= arg_indent and match:
                current = match.group(1).lstrip("*")
                args[current] = match.group(2).strip()
            elif current:
                args[current] = f"{args[current]} {stripped}".strip()
    return "\n".join(summary).strip(), args


def function_schema(
    func: Callable[..., Any], arg_docs: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON schema of ``func``'s parameters, and the resolved annotation of each one."""
    label = getattr(func, "__name__", repr(func))
    try:
        hints = get_type_hints(func)
    except Exception as exc:
        raise TypeError(f"cannot read the type hints of {label}: {exc}") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    annotations: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(f"{label}: positional-only parameter '{param.name}' cannot be a tool argument")
        annotation = hints.get(param.name, str)  # unannotated parameters are strings, as in llm
        try:
            schema = type_schema(annotation)
        except TypeError as exc:
            raise TypeError(f"{label}({param.name}): {exc}") from None
        if arg_docs.get(param.name):
            schema["description"] = arg_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        else:
            default = param.default.value if isinstance(param.default, enum.Enum) else param.default
            if default is None or isinstance(default, str | int | float | bool):
                schema["default"] = default
        properties[param.name] = schema
        annotations[param.name] = annotation
    return {"type": "object", "properties": properties, "required": required}, annotations


def type_schema(tp: Any) -> dict[str, Any]:
    """JSON schema for one annotation; raises TypeError for types a model cannot send."""
    origin = get_origin(tp)
    if tp is Any:
        return {}
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        schema = (
            type_schema(options[0]) if len(options) == 1 else {"anyOf": [type_schema(o) for o in options]}
        )
        return _nullable(schema) if len(options) < len(get_args(tp)) else schema
    if origin is Literal:
        return _enum_schema(list(get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema([member.value for member in tp])
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    if tp is list or origin is list:
        items = get_args(tp)
        return {"type": "array", "items": type_schema(items[0])} if items else {"type": "array"}
    if tp is dict or origin is dict:
        key, value = get_args(tp) or (str, Any)
        if key is not str:
            raise TypeError("dictionary keys must be strings (JSON object keys)")
        return (
            {"type": "object", "additionalProperties": type_schema(value)}
            if value is not Any
            else {"type": "object"}
        )
    raise TypeError(
        f"unsupported parameter type {tp!r} (use str, int, float, bool, list, dict, Literal or Enum)"
    )


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop(), "enum": values}
    return {"enum": values}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("type"), str):
        schema = {**schema, "type": [schema["type"], "null"]}
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]} if schema else schema


# --- validation -----------------------------------------------------------------------------


def validate_arguments(tool: Tool, arguments: Any) -> dict[str, Any]:
    """Check a model's arguments against ``tool.parameters``; returns them ready to pass.

    Raises ValueError with a reason a model can act on. Harmless fixes are applied: an int where a
    number is expected becomes a float, a whole float where an integer is expected becomes an int,
    a null for an optional non-nullable argument means "use the default", Enum values become members.
    """
    if not isinstance(arguments, dict):
        raise ValueError("arguments must be a JSON object")
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    required: list[str] = tool.parameters.get("required", [])
    open_ended = tool.parameters.get("additionalProperties") is True  # e.g. an MCP tool without properties
    unknown = [key for key in arguments if key not in properties and not open_ended]
    if unknown:
        expected = ", ".join(repr(k) for k in properties) or "none"
        raise ValueError(f"unknown argument {unknown[0]!r} (expected: {expected})")
    missing = [key for key in required if key not in arguments]
    if missing:
        raise ValueError(
            f"missing required argument{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(k) for k in missing)}"
        )
    result: dict[str, Any] = {}
    for key, value in arguments.items():
        schema = properties.get(key, {})
        if value is None and key not in required and not _accepts_null(schema):
            continue
        checked = _check(value, schema, f"argument {key!r}")
        result[key] = _to_python(checked, tool.annotations.get(key))
    return result


def _accepts_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if not schema or kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_accepts_null(option) for option in schema.get("anyOf", []))


def _check(value: Any, schema: dict[str, Any], where: str) -> Any:
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(value, option, where)
            except ValueError:
                continue
        raise ValueError(f"{where} must be {_describe(schema)}, not {_short(value)}")
    kinds = schema.get("type")
    if kinds is not None:
        options = [kinds] if isinstance(kinds, str) else list(kinds)
        kind = next((k for k in options if _is_kind(value, k)), None)
        if kind is None:
            raise ValueError(f"{where} must be {_describe(schema)}, not {_short(value)}")
        if kind == "number":
            value = float(value)
        elif kind == "integer":
            value = int(value)
        elif kind == "array" and "items" in schema:
            value = [_check(item, schema["items"], f"{where}[{i}]") for i, item in enumerate(value)]
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            item_schema = schema["additionalProperties"]
            value = {k: _check(v, item_schema, f"{where}[{k!r}]") for k, v in value.items()}
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        choices = ", ".join(_short(option) for option in schema["enum"])
        raise ValueError(f"{where} must be one of {choices}, not {_short(value)}")
    return value


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}.get(kind)
    return expected is not None and isinstance(value, expected)


def _same(value: Any, option: Any) -> bool:
    """Enum membership without Python's ``True == 1`` equivalence."""
    if isinstance(value, bool) or isinstance(option, bool):
        return value is option
    return bool(value == option)


def _describe(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe(option) for option in schema["anyOf"])
    kinds = schema.get("type")
    names = {
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "an object",
        "null": "null",
    }
    options = [kinds] if isinstance(kinds, str) else list(kinds or [])
    return " or ".join(names.get(k, k) for k in options) or "a value"


def _short(value: Any) -> str:
    text = (
        repr(value)
        if not isinstance(value, bool | type(None))
        else str(value).lower().replace("none", "null")
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _to_python(value: Any, annotation: Any) -> Any:
    """Enum values sent by a model become members of the annotated Enum."""
    if value is None or annotation is None:
        return value
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return _to_python(value, options[0]) if len(options) == 1 else value
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    if origin is list and get_args(annotation):
        return [_to_python(item, get_args(annotation)[0]) for item in value]
    return value
