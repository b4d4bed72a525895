"""``ttt mcp list | tools [SERVER] | import FILE``: the configured MCP servers and their tools.

Listing starts the servers (each within its ``timeout``) and stops them again; what is shown
passes the terminal sanitiser, and server failures are shown without the server's secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from ttt.cli.render import print_table
from ttt.core.errors import ConfigurationError
from ttt.core.sanitize import terminal_safe


def add_parsers(commands: Any) -> None:
    mcp = commands.add_parser("mcp", help="MCP tool servers: list them, their tools, import a config")
    actions = mcp.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each server: transport, state, tool count")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    tools = actions.add_parser("tools", help="the tools of every server, or of one")
    tools.add_argument("server", nargs="?")
    tools.add_argument("--json", action="store_true")
    tools.set_defaults(handler=cmd_tools)
    imports = actions.add_parser("import", help='add the servers of a {"mcpServers": ...} JSON file')
    imports.add_argument("file", help="a JSON file as Claude Desktop, Cursor or VS Code write it")
    imports.add_argument(
        "--project", action="store_true", help="write ./ttt.toml instead of the user config file"
    )
    imports.add_argument("--force", action="store_true", help="replace servers that already exist")
    imports.set_defaults(handler=cmd_import)


async def _started(names: list[str] | None = None) -> tuple[Any, list[Any]]:
    """The servers (started) and, per server, its tools or None when it failed."""
    from ttt.core.api import get_config
    from ttt.core.tools.mcp.servers import McpServers

    pool = McpServers(get_config().mcp)
    chosen = pool.names() if names is None else names
    for name in chosen:
        pool.server(name)  # unknown or disabled: a ConfigurationError before anything starts
    await pool.start_all() if names is None else await asyncio.gather(*(pool.restart(n) for n in chosen))
    return pool, chosen


def cmd_list(args: argparse.Namespace) -> int:
    async def run() -> list[Any]:
        pool, _ = await _started()
        try:
            return pool.statuses()
        finally:
            await pool.aclose()

    statuses = asyncio.run(run())
    if args.json:
        print(json.dumps([s.__dict__ for s in statuses], indent=2))
        return 0
    if not statuses:
        print("No MCP servers configured: add [mcp.servers.<name>] to ttt.toml, or `ttt mcp import FILE`.")
        return 0
    rows = [(s.name, s.transport, s.state, str(s.tools), terminal_safe(s.detail)) for s in statuses]
    print_table(("SERVER", "TRANSPORT", "STATE", "TOOLS", "DETAIL"), rows)
    return 0


def tool_rows(tools: list[Any], config: Any) -> list[dict[str, Any]]:
    """name, source, permission and description of each tool (``ttt tools`` shows the same)."""
    from ttt.core.tools.builtins import BUILTIN_TOOLS
    from ttt.core.tools.executor import effective_permission

    return [
        {
            "name": t.name,
            "source": t.source or ("builtin" if t in BUILTIN_TOOLS else "plugin"),
            "category": t.category,
            "permission": effective_permission(t, config),
            "description": t.description,
        }
        for t in tools
    ]


async def mcp_tools(names: list[str] | None = None) -> tuple[list[Any], list[str]]:
    """Every tool of the chosen servers (all enabled ones by default), and the failures."""
    from ttt.core.tools.mcp.adapter import as_tools

    pool, chosen = await _started(names)
    try:
        tools: list[Any] = []
        problems: list[str] = []
        for name in chosen:
            server = pool.server(name)
            if server.state == "ready":
                tools += as_tools(server, server.listed)
            else:
                problems.append(f"MCP server '{name}' is {server.state}: {server.detail}")
        return tools, problems
    finally:
        await pool.aclose()


def cmd_tools(args: argparse.Namespace) -> int:
    from ttt.core.api import get_config

    tools, problems = asyncio.run(mcp_tools([args.server] if args.server else None))
    for problem in problems:
        print(terminal_safe(problem), file=sys.stderr)
    rows = tool_rows(tools, get_config().tools)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        table = [
            (r["name"], r["source"], r["permission"], terminal_safe(r["description"].strip().split("\n")[0]))
            for r in rows
        ]
        print_table(("TOOL", "SOURCE", "PERMISSION", "DESCRIPTION"), table)
    return 1 if problems and not tools else 0


def cmd_import(args: argparse.Namespace) -> int:
    import tomlkit

    from ttt.core.config import Config, apply, paths, private_dir
    from ttt.core.tools.mcp.servers import import_servers

    source = Path(args.file).expanduser()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{args.file}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{args.file} is not valid JSON: {exc}") from None
    tables = import_servers(data)
    target = Path("ttt.toml").resolve() if args.project else paths().user_config
    document = tomlkit.parse(target.read_text(encoding="utf-8")) if target.is_file() else tomlkit.document()
    servers = document.setdefault("mcp", tomlkit.table()).setdefault("servers", tomlkit.table())
    added, skipped = [], []
    for name, table in tables.items():
        if name in servers and not args.force:
            skipped.append(name)
            continue
        servers[name] = table
        added.append(name)
    apply(Config(), document.unwrap(), str(target))  # validate before writing anything
    private_dir(target.parent)
    tmp = target.with_suffix(".toml.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # env and headers may hold secrets
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
    os.replace(tmp, target)
    for name in added:
        print(f"added MCP server '{terminal_safe(name)}' to {target}", file=sys.stderr)
    for name in skipped:
        print(f"kept the existing MCP server '{terminal_safe(name)}' (--force replaces it)", file=sys.stderr)
    return 0
