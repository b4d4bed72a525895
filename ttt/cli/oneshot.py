"""``ttt -p``: one turn, streamed to stdout, then exit."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from argparse import Namespace
from typing import Any

from ttt.cli.render import MarkdownPrinter, PlainPrinter, note
from ttt.core.errors import AIError, InvalidRequestError
from ttt.core.models import model_registry
from ttt.core.sanitize import json_safe, terminal_safe
from ttt.core.text import shorten
from ttt.core.tokens import CHARS_PER_TOKEN
from ttt.core.types import (
    AIResponse,
    Done,
    ErrorEvent,
    RouteInfo,
    TextDelta,
    ToolCallReady,
    ToolResultEvent,
)

STDIN_CHUNK = 1 << 20


def read_stdin(limit: int) -> str:
    """Piped stdin as text: invalid UTF-8 is replaced (U+FFFD), not a crash; reading stops once
    it passes ``limit`` bytes, so a huge input is refused without being held in memory."""
    source = getattr(sys.stdin, "buffer", sys.stdin)  # a host may put a text stream in its place
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = source.read(min(STDIN_CHUNK, limit + 1 - size))
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", errors="replace")
        if not chunk:
            return b"".join(chunks).decode("utf-8", errors="replace")
        chunks.append(chunk)
        size += len(chunk)
    raise InvalidRequestError(
        f"The input on stdin is over {limit:,} bytes: more than the largest context window ttt knows "
        "could take, so it stopped reading. Send less, or split it."
    )


def stdin_limit() -> int:
    """The most stdin worth reading: the largest known context window, in bytes at the token
    estimator's characters per token (a ``[models.<name>]`` table can raise it)."""
    return max(m.context_length for m in model_registry.list()) * CHARS_PER_TOKEN


def read_prompt(args: Namespace) -> str | None:
    """The prompt from -p and/or piped stdin (stdin is appended after the -p text)."""
    piped = None
    if not sys.stdin.isatty():
        piped = read_stdin(stdin_limit())
        if not piped.strip():
            piped = None
    if args.prompt is not None and piped:
        return f"{args.prompt}\n\n{piped.rstrip()}"
    return args.prompt if args.prompt is not None else (piped.rstrip() if piped else None)


def approval_prompt(args: Namespace, printer: Any) -> Any:
    """Ask on the terminal (yes / no / always); without one, deny unless --yes.

    The question goes to stderr as plain text, after the live reply is paused: written through
    rich, the model's arguments would be read as markup (and the choices with them)."""
    if args.yes:
        return lambda call, tool: "yes"
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def ask(call: Any, tool: Any) -> str:
        if printer is not None:
            printer.pause()
        arguments = json_safe(json.dumps(call.arguments, ensure_ascii=False))  # escapes stay visible
        sys.stderr.write(f"Allow tool {terminal_safe(call.name)}({arguments})? [y]es / [n]o / [a]lways: ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        return {"y": "yes", "yes": "yes", "a": "always", "always": "always"}.get(answer, "no")

    return ask


async def run_turn(args: Namespace, prompt: str, signals: list[int]) -> int:
    """Stream one turn; a SIGTERM or SIGHUP it receives is added to ``signals``."""
    from ttt.core.api import close_engine

    _cancel_on_signals(signals)
    session = open_session(args)
    printer: Any = None
    if not args.json:
        fancy = sys.stdout.isatty() and not args.raw
        printer = MarkdownPrinter() if fancy else PlainPrinter(sanitise=sys.stdout.isatty())
    response: AIResponse | None = None
    error: AIError | None = None
    turn = {
        "model": args.model,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "tools": _tool_selectors(args.tools),
        "approve": approval_prompt(args, printer),
        "attachments": args.attach,
    }
    events = session.events(prompt, **{k: v for k, v in turn.items() if v is not None})
    stop_notes = _note_mcp_failures(turn["tools"])
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                if printer:
                    printer.feed(event.text)
            elif isinstance(event, RouteInfo):
                if event.reason and (
                    event.reason.startswith("fallback") or args.explain or "bundled" in event.reason
                ):
                    note(f"using {event.model}: {event.reason}")
                if event.left_out and event.context_window:
                    note(
                        f"{event.left_out} older messages left out to fit {event.model}'s "
                        f"{event.context_window:,}-token window (`ttt sessions compact` summarises them)"
                    )
            elif isinstance(event, ToolCallReady) and not args.json:
                note(
                    f"→ {event.call.name}({json_safe(json.dumps(event.call.arguments, ensure_ascii=False))})"
                )
            elif isinstance(event, ToolResultEvent) and not args.json:
                result = event.result
                note(
                    f"← {result.name}: "
                    + (f"error: {result.error}" if result.error else shorten(result.content, 200))
                )
            elif isinstance(event, Done):
                response = event.response
            elif isinstance(event, ErrorEvent):
                error = event.error if isinstance(event.error, AIError) else AIError(str(event.error))
    finally:
        await events.aclose()
        session.close()
        await close_engine()
        stop_notes()
        if printer:
            printer.close()
        for notice in getattr(session, "notices", ()):  # e.g. not saved: the reply still arrived whole
            note(f"ttt: {notice}", style="plain")
        unsaved = getattr(session, "save_error", None)
    if error is not None:
        print_error(error)
        return error.exit_code
    if args.json and response is not None:
        saved = getattr(session, "id", None) if unsaved is None else None
        data = {**response.to_dict(), "session_id": saved}
        sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False)) + "\n")
    return 0


def open_session(args: Namespace) -> Any:
    """Where this exchange is kept: a new stored session (opened while the request goes out),
    a resumed one, or memory only."""
    from ttt.core.errors import ConfigurationError
    from ttt.core.session.chat import ChatSession

    options = {k: v for k, v in {"system": args.system, "model": args.model}.items() if v is not None}
    if args.no_save:
        if args.resume or args.session:
            raise ConfigurationError("--no-save cannot be combined with --continue or --session")
        return ChatSession(**options)
    from ttt.core.session.persistent import PersistentChatSession

    session_id = args.session
    if args.resume and session_id is None:
        from ttt.core.session.store import Store

        with Store.default() as store:
            latest = store.latest_session()
        session_id = latest.id if latest else None
    return PersistentChatSession.open(session_id, **options)


def _note_mcp_failures(selectors: list[str]) -> Any:
    """When the turn offers MCP tools, a note on stderr for each server that fails (the turn goes
    on without it); returns what ends the notes."""
    if not any(s.startswith("mcp:") for s in selectors):
        return lambda: None
    from ttt.core.tools.mcp.servers import listeners

    def on_change(status: Any) -> None:
        if status.state == "failed":
            note(f"ttt: MCP server '{status.name}' failed: {status.detail}")

    listeners.append(on_change)
    return lambda: listeners.remove(on_change)


def _tool_selectors(raw: str | None) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()] if raw else []


def print_error(error: AIError) -> None:
    from ttt.core.secrets import redact

    note(redact(f"ttt: {error.title}: {error.message}"), style="plain")  # providers may echo a key


def _cancel_on_signals(received: list[int]) -> None:
    """SIGTERM and SIGHUP end the turn the way Ctrl-C does (cancelled, so what streamed, the
    tool calls and their results are saved, marked 'stopped') instead of killing ttt outright."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    for name in ("SIGTERM", "SIGHUP"):
        try:
            loop.add_signal_handler(getattr(signal, name), stop, getattr(signal, name))
        except (AttributeError, NotImplementedError):  # Windows: the default action stays
            return


def oneshot(args: Namespace, prompt: str) -> int:
    received: list[int] = []
    run = run_turn
    if args.compare:
        from ttt.cli.compare import run_compare as run
    try:
        return asyncio.run(run(args, prompt, received))
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        note("ttt: interrupted", style="plain")
        return 130
    except asyncio.CancelledError:
        if not received:
            raise
        sys.stdout.write("\n")
        note(f"ttt: stopped by {signal.Signals(received[0]).name}", style="plain")
        return 128 + received[0]
