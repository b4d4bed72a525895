"""MCP servers through the pool and the executor, as a turn uses them: our own server for results
and faults, a Streamable HTTP server on 127.0.0.1, and process clean-up."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.mcp.conftest import ours, pool_of
from tests.processes import alive, orphans_of_killed_parent, wait_gone
from ttt.core.errors import ConfigurationError
from ttt.core.tools.executor import MAX_RESULT_CHARS, ToolExecutor
from ttt.core.tools.mcp.servers import listeners
from ttt.core.types import ToolCall


def yes(call: ToolCall, tool: object) -> str:
    return "yes"


async def run(pool: object, selector: str, tool: str, **arguments: object):  # type: ignore[no-untyped-def]
    tools = await pool.tools([selector])  # type: ignore[attr-defined]
    return await ToolExecutor(tools, approve=yes).run(ToolCall("c1", tool, dict(arguments)))


async def test_tools_keep_their_description_and_schema_under_a_namespaced_name() -> None:
    pool = pool_of(t=ours())
    try:
        tools = {t.name: t for t in await pool.tools(["mcp:t"])}
        echo = tools["mcp__t__echo"]
        assert echo.description == "Say the text back."
        assert echo.parameters["properties"]["text"]["type"] == "string"
        assert echo.parameters["required"] == ["text"]
        assert (echo.permission, echo.source, echo.category) == ("ask", "mcp:t", "mcp:t")
        assert [t.name for t in await pool.tools(["mcp:t/echo"])] == ["mcp__t__echo"]
        with pytest.raises(ConfigurationError, match="has no tool 'nope'"):
            await pool.tools(["mcp:t/nope"])
        with pytest.raises(ConfigurationError, match="'x' is not configured"):
            await pool.tools(["mcp:x"])
    finally:
        await pool.aclose()


async def test_results_text_image_resources_errors_and_truncation(isolated: Path) -> None:
    pool = pool_of(t=ours())
    try:
        echo = await run(pool, "mcp:t", "mcp__t__echo", text="hi")
        assert (echo.content, echo.error, echo.images) == ("echo: hi", None, [])

        picture = await run(pool, "mcp:t", "mcp__t__picture")
        [image] = picture.images
        assert picture.error is None and "[image: image/png" in picture.content
        stored = Path(image.path)
        assert stored.parent == isolated / "data" / "tool-images"
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == image.sha256
        assert base64.b64decode(image.data) == stored.read_bytes()

        document = await run(pool, "mcp:t", "mcp__t__document")
        assert document.content.splitlines() == [
            "the report follows",
            "[resource file:///report.txt]",
            "all good",
            "[resource file:///report.pdf: application/pdf, 8 bytes, not shown]",
        ]

        failed = await run(pool, "mcp:t", "mcp__t__fail", reason="disk full")
        assert failed.outcome == "error" and failed.error and failed.content.startswith("Error: ")

        big = await run(pool, "mcp:t", "mcp__t__big", size=MAX_RESULT_CHARS + 500)
        assert big.content.endswith("[... truncated: 500 more characters]")

        invalid = await run(pool, "mcp:t", "mcp__t__echo", text=3)
        assert invalid.error and "must be a string" in invalid.error
    finally:
        await pool.aclose()


async def test_env_references_are_expanded_and_missing_ones_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "s3cret-value-42")
    pool = pool_of(t=ours(env={"TOKEN": "${MY_TOKEN}"}), u=ours(env={"TOKEN": "${NOT_SET_ANYWHERE}"}))
    try:
        result = await run(pool, "mcp:t", "mcp__t__environment", name="TOKEN")
        assert result.content == "s3cret-value-42"
        missing = await run(pool, "mcp:u/environment", "mcp__u__environment", name="TOKEN")
        assert missing.error and "${NOT_SET_ANYWHERE}" in missing.error and "not set" in missing.error
    finally:
        await pool.aclose()


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ({"command": "no-such-mcp-server-anywhere"}, "cannot run 'no-such-mcp-server-anywhere'"),
        (ours("--exit-start"), "exited during start-up; its stderr ends with: fatal: no configuration found"),
        (ours("--hang-start", timeout=1.5), "did not finish starting within 1.5 s"),
        (ours("--malformed-start", timeout=8), "it sent malformed JSON-RPC (Invalid JSON"),
    ],
    ids=["missing", "exits-at-start", "hangs-on-initialize", "malformed-json-rpc"],
)
async def test_a_server_that_cannot_start_is_an_error_result_and_a_notification(
    table: dict[str, object], reason: str
) -> None:
    seen = []
    listeners.append(seen.append)
    pool = pool_of(bad=table)
    try:
        started = time.monotonic()
        assert await pool.tools(["mcp:bad"]) == []  # the turn goes on without its tools
        result = await run(pool, "mcp:bad/anything", "mcp__bad__anything")
        assert time.monotonic() - started < 40
        assert result.outcome == "error" and "MCP server 'bad' could not start" in result.content
        assert reason in result.content
        assert "Traceback" not in result.content
        assert [s.state for s in seen][:2] == ["starting", "failed"] and reason in seen[1].detail
    finally:
        listeners.remove(seen.append)
        await pool.aclose()


async def test_call_timeout_and_malformed_answer() -> None:
    pool = pool_of(t=ours())
    try:
        await pool.tools(["mcp:t"])  # started with time to spare on a busy machine; calls get 3 s
        pool.server("t").config.timeout = 3
        slow = await run(pool, "mcp:t", "mcp__t__slow", seconds=30)
        assert slow.outcome == "error" and "slow did not answer within 3 s" in slow.content

        garbage = await run(pool, "mcp:t", "mcp__t__garbage")
        assert "it sent malformed JSON-RPC" in garbage.content and "this is not json-rpc" in garbage.content
        assert (await run(pool, "mcp:t", "mcp__t__echo", text="still")).content == "echo: still"
    finally:
        await pool.aclose()


async def test_crash_restart_and_backoff() -> None:
    pool = pool_of(t=ours())
    try:
        await pool.tools(["mcp:t"])

        server = pool.server("t")
        first = server.pid
        crash = await run(pool, "mcp:t", "mcp__t__crash")
        assert crash.outcome == "error"
        assert "exited during the call; its stderr ends with: fatal: simulated crash" in crash.content
        assert server.state == "failed" and first is not None and wait_gone(first)

        second = await run(pool, "mcp:t", "mcp__t__crash")  # restarted at once, and crashes again
        assert "exited during the call" in second.content and server.pid != first

        waiting = await run(pool, "mcp:t", "mcp__t__echo", text="soon")  # a second crash in a row waits
        assert "(next try in 1 s)" in waiting.content and "simulated crash" in waiting.content
        time.sleep(1.1)
        again = await run(pool, "mcp:t", "mcp__t__echo", text="back")
        assert again.content == "echo: back" and server.state == "ready"

        os.killpg(server.pid, signal.SIGKILL)  # dies between calls: seen at the next one, restarted
        assert wait_gone(server.pid)
        assert (await run(pool, "mcp:t", "mcp__t__echo", text="up")).content == "echo: up"
    finally:
        await pool.aclose()


async def test_secrets_stay_out_of_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY_VALUE", "hunter2-very-secret")
    script = "import os, sys; sys.stderr.write('token is ' + os.environ['API'] + '\\n'); sys.exit(1)"
    pool = pool_of(bad={"command": sys.executable, "args": ["-c", script], "env": {"API": "${LEAKY_VALUE}"}})
    try:
        result = await run(pool, "mcp:bad/x", "mcp__bad__x")
        assert "token is [REDACTED]" in result.content
        assert "hunter2" not in result.content and "hunter2" not in pool.statuses()[0].detail
    finally:
        await pool.aclose()


async def test_streamable_http_with_a_header_from_the_environment(
    http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "secret-token-123")
    pool = pool_of(
        web={"url": http_server, "headers": {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}, "timeout": 20},
        anonymous={"url": http_server, "timeout": 20},
    )
    try:
        result = await run(pool, "mcp:web", "mcp__web__echo", text="over http")
        assert result.content == "echo: over http"
        assert pool.statuses()[0].transport == "http"
        refused = await run(pool, "mcp:anonymous/echo", "mcp__anonymous__echo", text="x")
        assert refused.outcome == "error" and "could not start" in refused.content
    finally:
        await pool.aclose()


async def test_reused_across_turns_and_stopped_with_its_process_group() -> None:
    pool = pool_of(t=ours())
    await pool.tools(["mcp:t"])
    server = pool.server("t")
    pid = server.pid
    await pool.tools(["mcp:t"])
    assert server.pid == pid  # the same process serves the next turn
    child = int((await run(pool, "mcp:t", "mcp__t__spawn_child")).content)
    assert alive(pid) and alive(child)
    await pool.aclose()
    assert wait_gone(pid) and wait_gone(child), "a process of the MCP server outlived it"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_no_orphan_when_ttt_is_killed(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys\n"
        "from tests.mcp.conftest import pool_of, time_server\n"
        "async def main():\n"
        "    pool = pool_of(t=time_server())\n"
        "    await pool.tools(['mcp:t'])\n"
        "    print(pool.server('t').pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    (pid,) = orphans_of_killed_parent(code, env={**os.environ, "TTT_HOME": str(tmp_path)})
    assert wait_gone(pid), "the MCP server outlived the ttt process that started it"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_no_orphan_of_a_server_child_when_ttt_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives ttt no chance to clear the server's process group: what the server started
    must die with it all the same."""
    code = (
        "import asyncio\n"
        "from tests.mcp.conftest import ours, pool_of\n"
        "from tests.mcp.test_client import run\n"
        "async def main():\n"
        "    pool = pool_of(t=ours())\n"
        "    child = (await run(pool, 'mcp:t', 'mcp__t__spawn_child')).content\n"
        "    print(pool.server('t').pid, child, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    pid, child = orphans_of_killed_parent(code, env={**os.environ, "TTT_HOME": str(tmp_path)})
    assert wait_gone(pid), "the MCP server outlived the ttt process that started it"
    assert wait_gone(child, 10), "a child of the MCP server outlived the ttt process"
