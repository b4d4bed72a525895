"""The ``ttt`` command: the TUI by default, one-shot with ``-p`` or piped stdin, and subcommands.

Startup stays light: argparse only; the engine, LiteLLM and Textual load when a path needs them.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, get_args

import ttt
from ttt.core.config_ranges import AtLeastOne, Temperature

SUBCOMMANDS = ("models", "status", "config", "tools", "sessions", "stats", "mcp")
# Arguments that name files: their undecodable bytes must survive to reach the file.
PATH_ARGUMENTS = frozenset({"attach", "file", "output"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttt",
        description="A terminal-native LLM workbench. Without a prompt and with a terminal on stdin, "
        "opens the full-screen app.",
        epilog="Subcommands: " + ", ".join(SUBCOMMANDS) + " (`ttt <subcommand> --help`). "
        "A prompt that is a subcommand's name needs -p.",
    )
    parser.add_argument("words", nargs="*", metavar="PROMPT", help="ask once, like -p: ttt what is a monad")
    parser.add_argument("-p", "--prompt", help="ask once, print the reply and exit (stdin is appended)")
    parser.add_argument("-m", "--model", help="model name or alias (see `ttt models`)")
    parser.add_argument("-s", "--system", help="system prompt")
    parser.add_argument(
        "-t", "--temperature", type=_bounded(Temperature), help="sampling temperature (0 to 2)"
    )
    parser.add_argument("--max-tokens", type=_bounded(AtLeastOne), help="most tokens in the reply")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object with text and metadata; its seconds and time_to_first_token count "
        "from when the request went to the backend, as `ttt stats` does",
    )
    parser.add_argument("--raw", action="store_true", help="plain text, no Markdown rendering")
    parser.add_argument("--offline", action="store_true", help="local backends only")
    parser.add_argument("--tools", help="tools the model may call: names, category:NAME, or all")
    parser.add_argument("-y", "--yes", action="store_true", help="approve every tool call without asking")
    parser.add_argument("--explain", action="store_true", help="say which model was chosen and why")
    parser.add_argument(
        "-a",
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach an image (PNG, JPEG, GIF, WebP) or a text file; repeatable",
    )
    parser.add_argument(
        "--compare",
        metavar="M1,M2",
        help="ask 2 to 4 models the same prompt at once and show each answer (a JSON list into a pipe)",
    )
    parser.add_argument("--debug", action="store_true", help="log everything, to stderr and the log file")
    parser.add_argument(
        "-c", "--continue", dest="resume", action="store_true", help="continue the latest session"
    )
    parser.add_argument("--session", metavar="ID", help="continue session ID (a unique prefix is enough)")
    parser.add_argument("-n", "--no-save", action="store_true", help="do not store this exchange")
    parser.add_argument("--version", action="version", version=f"ttt {ttt.__version__}")
    return parser


def _bounded(annotated: Any) -> Callable[[str], Any]:
    """An argparse type taking a number as the config field typed ``annotated`` takes it."""
    kind, bounds = get_args(annotated)

    def parse(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
        problem = bounds.problem(value) if math.isfinite(value) else "must be a finite number"
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, not {raw}")
        return value

    return parse


def build_subparsers() -> argparse.ArgumentParser:
    from ttt.cli import info, mcp, sessions, stats

    parser = argparse.ArgumentParser(prog="ttt")
    commands = parser.add_subparsers(dest="command", required=True)
    info.add_parsers(commands)
    stats.add_parsers(commands)
    sessions.add_parsers(commands)
    mcp.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ttt`` with ``argv``; returns the exit code (tests call this in-process)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = _decoded(build_subparsers().parse_args(argv))
            _setup_logging(debug=False, stderr=False)
            return int(args.handler(args) or 0)
        parser = build_parser()
        args = _decoded(parser.parse_intermixed_args(argv))
        if args.words:
            if args.prompt is not None:
                parser.error("give the prompt once: as words or with -p")
            args.prompt = " ".join(args.words)
        if args.prompt is not None or not sys.stdin.isatty():
            return _oneshot(args)
        return _tui(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from ttt.cli.oneshot import print_error
        from ttt.core.errors import AIError

        if isinstance(exc, AIError):
            print_error(exc)
            return exc.exit_code
        raise


def _decoded(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with bytes that were not UTF-8 (kept by Python as lone surrogates) shown as U+FFFD,
    as stdin is read: such text can't be stored, sent or printed. File names keep their bytes."""
    for name, value in vars(args).items():
        if name in PATH_ARGUMENTS:
            continue
        if isinstance(value, str):
            setattr(args, name, _text(value))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            setattr(args, name, [_text(item) for item in value])
    return args


def _text(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def run() -> NoReturn:
    """The console script (and ``python -m ttt``): ``main``, then a quick exit after a one-shot."""
    try:
        code = main()
    except BrokenPipeError:
        code = _reader_gone()
    if _oneshot_ran:
        _exit_now(code)
    sys.exit(code)


def _reader_gone() -> int:
    """stdout's reader went away (``ttt models | head``): stop quietly, as Unix tools do. stdout
    points at /dev/null from here, so no later flush complains; the exit code is the one a shell
    reports for a process that SIGPIPE ended (128 + 13)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


_oneshot_ran = False  # set by a one-shot run, which closes everything it opened before returning


def _exit_now(code: int) -> NoReturn:
    """Skip interpreter teardown (slow, above all once LiteLLM is loaded): the one-shot closed its
    session, store and clients, so only buffered output and queued metrics remain to be written."""
    import logging
    import os

    metrics = sys.modules.get("ttt.core.metrics")
    if metrics is not None:
        metrics.drain()
    shared = sys.modules.get("ttt.core.session.shared")
    if shared is not None:
        shared.close_shared_stores()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a closed stream
            pass
    logging.shutdown()
    os._exit(code)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"offline": True} if args.offline else {}


def _setup_logging(debug: bool, stderr: bool, level: str | None = None) -> None:
    """Logging per --debug, else ``level`` or the config's log_level (TTT_LOG_LEVEL); stderr only
    for one-shot runs, as the TUI owns the terminal. A broken config file must not stop
    `ttt config set`."""
    import os

    from ttt.core.logs import setup_logging

    if debug:
        level = "DEBUG"
    elif level is None:
        try:
            from ttt.core.api import get_config

            level = get_config().log_level
        except Exception:
            level = os.environ.get("TTT_LOG_LEVEL") or "WARNING"
    setup_logging(level, stderr=stderr)


def _tui(args: argparse.Namespace) -> int:
    """The full-screen app. Start-up allocates many objects that stay alive: with the collector
    running, collecting them again and again delays the first frame. It is paused
    until the app has drawn that frame (the app resumes it) or has ended."""
    import gc

    gc.disable()
    try:
        _setup_logging(args.debug, stderr=False)
        from ttt_tui.app import run_app

        return run_app(model=args.model, system=args.system, settings=_settings(args))
    finally:
        gc.enable()


def _oneshot(args: argparse.Namespace) -> int:
    """``-p`` or piped stdin: the config is loaded once, for logging and for the turn."""
    global _oneshot_ran
    from ttt.cli.oneshot import oneshot, read_prompt
    from ttt.core.api import configure

    config = configure(**_settings(args))
    _setup_logging(args.debug, stderr=args.debug, level=config.log_level)
    prompt = read_prompt(args)
    if not prompt:
        build_parser().print_usage(sys.stderr)
        sys.stderr.write("ttt: error: empty prompt (give -p TEXT or pipe text in)\n")
        return 2
    _oneshot_ran = True
    return oneshot(args, prompt)
