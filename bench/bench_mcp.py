"""What MCP costs a turn, next to a built-in tool, and what it costs a turn that offers none.

Times, as medians of several runs, in milliseconds:
- first use of a server: start + initialize + list tools (mcp-server-time, and our test server);
- a warm call round trip through the executor (permission, validation, result mapping), next
  to the built-in ``get_current_time`` through the same executor;
- ``import`` of the SDK (what a turn with MCP tools pays once), and whether ``ttt -p`` without
  MCP tools loads it at all (it must not).

    python bench/bench_mcp.py [--runs 7] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TTT_HOME", tempfile.mkdtemp(prefix="ttt-bench-mcp-"))

from ttt.core.config_sections import McpConfig, McpServerConfig  # noqa: E402
from ttt.core.tools.executor import ToolExecutor  # noqa: E402
from ttt.core.tools.registry import tool_registry  # noqa: E402
from ttt.core.types import ToolCall  # noqa: E402

BIN = Path(sys.executable).parent
SERVERS = {
    "mcp-server-time": McpServerConfig(command=str(BIN / "mcp-server-time"), permission="allow", timeout=60),
    "tests/mcp/server.py": McpServerConfig(
        command=sys.executable, args=[str(ROOT / "tests/mcp/server.py")], permission="allow", timeout=60
    ),
}
CALLS = {
    "mcp-server-time": ("get_current_time", {"timezone": "UTC"}),
    "tests/mcp/server.py": ("echo", {"text": "x"}),
}


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


async def first_use(name: str) -> float:
    from ttt.core.tools.mcp.servers import McpServers

    pool = McpServers(McpConfig({"s": SERVERS[name]}))
    started = time.perf_counter()
    await pool.tools(["mcp:s"])
    seconds = time.perf_counter() - started
    await pool.aclose()
    return seconds


async def warm_calls(name: str, runs: int) -> list[float]:
    from ttt.core.tools.mcp.servers import McpServers, tool_name

    pool = McpServers(McpConfig({"s": SERVERS[name]}))
    try:
        executor = ToolExecutor(await pool.tools(["mcp:s"]))
        tool, arguments = CALLS[name]
        times = []
        for index in range(runs + 1):
            started = time.perf_counter()
            result = await executor.run(ToolCall(str(index), tool_name("s", tool), arguments))
            assert result.error is None, result.error
            times.append(time.perf_counter() - started)
        return times[1:]
    finally:
        await pool.aclose()


async def builtin_calls(runs: int) -> list[float]:
    executor = ToolExecutor(tool_registry.resolve(["get_current_time"]))
    times = []
    for index in range(runs):
        started = time.perf_counter()
        await executor.run(ToolCall(str(index), "get_current_time", {"timezone": "UTC"}))
        times.append(time.perf_counter() - started)
    return times


def in_fresh_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()


def import_seconds() -> float:
    return float(
        in_fresh_python("import time; t = time.perf_counter(); import mcp; print(time.perf_counter() - t)")
    )


def oneshot_loads_mcp() -> str:
    """Modules of the SDK a ``ttt -p --tools calculate`` turn's code path loads (none expected)."""
    code = (
        "import sys\nfrom ttt.cli import build_parser\nfrom ttt.core.engine import Engine, TurnOptions\n"
        "from ttt.core.api import get_config\nimport asyncio\n"
        "async def main():\n    await Engine(get_config())._tools(TurnOptions(tools=['calculate']))\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types'))))"
    )
    return in_fresh_python(code)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    rows = []
    builtin = await builtin_calls(runs * 10)
    rows.append(("built-in get_current_time", "-", ms(builtin)))
    for name in SERVERS:
        first = [await first_use(name) for _ in range(runs)]
        warm = await warm_calls(name, runs * 10)
        rows.append((f"MCP {name}", ms(first), ms(warm)))
    print("| tool | first use: start + initialize + list (ms) | warm call (ms) |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    imports = [import_seconds() for _ in range(runs)]
    print(
        f"\n`import mcp` in a fresh interpreter: {ms(imports)} ms (paid once, by turns that offer MCP tools)"
    )
    print(f"SDK modules loaded by a turn with `--tools calculate`: {oneshot_loads_mcp()}")


if __name__ == "__main__":
    asyncio.run(main())
