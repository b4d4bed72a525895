"""``ttt models``, ``ttt status``, ``ttt config`` and ``ttt tools``: what is set up, never secrets."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ttt.cli.render import print_table, shown
from ttt.core.models import ModelInfo
from ttt.core.sanitize import json_safe


def add_parsers(commands: Any) -> None:
    models = commands.add_parser("models", help="every model the backends can serve now")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=cmd_models)

    status = commands.add_parser("status", help="each backend reachable or not, and which keys are set")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    config = commands.add_parser("config", help="show or change settings")
    actions = config.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the effective settings").set_defaults(handler=cmd_config_list)
    get = actions.add_parser("get", help="one setting, e.g. tools.timeout")
    get.add_argument("key")
    get.set_defaults(handler=cmd_config_get)
    set_ = actions.add_parser("set", help="write one setting to the user config file")
    set_.add_argument("key")
    set_.add_argument("value")
    set_.set_defaults(handler=cmd_config_set)
    actions.add_parser("path", help="where the config files are").set_defaults(handler=cmd_config_path)

    tools = commands.add_parser("tools", help="the tools models may call")
    tools.add_argument("--json", action="store_true")
    tools.set_defaults(handler=cmd_tools)


def cmd_models(args: argparse.Namespace) -> int:
    from ttt.core.api import get_config
    from ttt.core.backends.llama_probe import check
    from ttt.core.inventory import list_models

    config = get_config()
    check(config.llamacpp)  # the offline model is listed as available only once it has answered here
    models = asyncio.run(list_models(config))
    if args.json:
        print(json_safe(json.dumps([_model_dict(m) for m in models], indent=2)))
        return 0
    rows = [
        (m.name, m.backend, "yes" if m.available else "no", _context(m.context_length), ", ".join(m.aliases))
        for m in models
    ]
    print_table(("MODEL", "BACKEND", "AVAILABLE", "CONTEXT", "ALIASES"), rows)
    return 0


def _model_dict(m: ModelInfo) -> dict[str, Any]:
    return {
        "name": m.name,
        "backend": m.backend,
        "provider": m.provider,
        "available": bool(m.available),
        "context_length": m.context_length,
        "capabilities": m.capabilities,
        "aliases": m.aliases,
        "input_price": m.input_price,
        "output_price": m.output_price,
    }


def _context(tokens: int) -> str:
    return f"{tokens // 1000}k" if tokens >= 1000 else str(tokens)


def cmd_status(args: argparse.Namespace) -> int:
    from ttt.core.api import get_config
    from ttt.core.inventory import backend_statuses

    statuses = asyncio.run(backend_statuses(get_config()))
    if args.json:
        print(json_safe(json.dumps([s.__dict__ for s in statuses], indent=2)))
        return 0
    for status in statuses:
        mark = "✓" if status.available else "✗"
        print(f"{mark} {shown(status.name):<9} {shown(status.detail)}")
        for key, present in status.keys.items():
            print(f"    {key:<22} {'set' if present else 'not set'}")
    print(shown(_default_model()))
    return 0


def _default_model() -> str:
    """The line saying which model a prompt without -m goes to, and why."""
    from ttt.core.api import get_config
    from ttt.core.errors import AIError
    from ttt.core.inventory import default_route

    try:
        route = asyncio.run(default_route(get_config()))
    except AIError as error:
        return f"✗ default model: none. {error.message}"
    return f"✓ default model: {route.model}" + (f" ({route.reason})" if route.reason else "")


def cmd_config_list(args: argparse.Namespace) -> int:
    import tomli_w

    from ttt.core.api import get_config
    from ttt.core.config import to_dict

    print(tomli_w.dumps(_without_none(_hidden(to_dict(get_config())))), end="")
    return 0


def _hidden(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (the config as a dict) with the literal env and header values of MCP servers
    hidden: they may be tokens. ``${VAR}`` references stay."""
    for server in data["mcp"]["servers"].values():
        for table in ("env", "headers"):
            server[table] = {k: v if "${" in v else "[REDACTED]" for k, v in server[table].items()}
    return data


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def cmd_config_get(args: argparse.Namespace) -> int:
    from ttt.core.api import get_config
    from ttt.core.config import get_value, to_dict

    value = get_value(get_config(), args.key)
    if isinstance(value, dict):  # a whole table is shown as `config list` shows it; one value as set
        value = _hidden(to_dict(get_config()))
        for part in args.key.split("."):
            value = value[part]
    print(json_safe(json.dumps(value)) if not isinstance(value, str) else shown(value))
    return 0


def cmd_config_set(args: argparse.Namespace) -> int:
    from ttt.core.config import set_user_value

    path = set_user_value(args.key, args.value)
    print(f"{args.key} set in {path}", file=sys.stderr)
    return 0


def cmd_config_path(args: argparse.Namespace) -> int:
    from ttt.core.config import config_files, paths

    for path in config_files():
        print(f"{path}{'' if path.is_file() else '  (not present)'}")
    print(f"data: {paths().data_dir}")
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    """Built-ins and plugins, and the tools of the enabled MCP servers (started to list them)."""
    from ttt.cli.mcp import mcp_tools, tool_rows
    from ttt.core.api import get_config
    from ttt.core.sanitize import terminal_safe
    from ttt.core.tools.registry import tool_registry

    config = get_config()
    tools, problems = asyncio.run(mcp_tools()) if config.mcp.servers else ([], [])
    for problem in problems:
        print(terminal_safe(problem), file=sys.stderr)
    rows = tool_rows([*tool_registry.list(), *tools], config.tools)
    if args.json:
        print(json_safe(json.dumps(rows, indent=2)))
        return 0
    table = [
        (
            r["name"],
            r["source"],
            r["category"],
            r["permission"],
            terminal_safe(r["description"].split("\n")[0]),
        )
        for r in rows
    ]
    print_table(("TOOL", "SOURCE", "CATEGORY", "PERMISSION", "DESCRIPTION"), table)
    return 0
