"""``ttt -p "…" --compare m1,m2``: one prompt to 2 to 4 models at once.

On a terminal each model's answer is printed as a labelled section as soon as it is complete
(answers never interleave); into a pipe or with ``--json``, one JSON list with an object per
model. Exit 0 if any model answered, 1 if all failed, 2 for bad usage.
"""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from typing import Any

from ttt.cli.oneshot import _cancel_on_signals, open_session
from ttt.cli.render import MarkdownPrinter, PlainPrinter, note
from ttt.core.comparison import Compared, parse_models, run_comparison, summary, tokens_per_second
from ttt.core.errors import AIError, ConfigurationError
from ttt.core.sanitize import json_safe, terminal_safe
from ttt.core.types import Done, ErrorEvent, StreamEvent, TextDelta


def check_usage(args: Namespace) -> list[str]:
    """The models to compare; ConfigurationError (exit 2) for flags a comparison can't take."""
    clashing = [
        flag
        for flag, given in (("-m", args.model), ("--tools", args.tools), ("--attach", args.attach))
        if given
    ]
    if clashing:
        raise ConfigurationError(
            f"--compare names the models and asks without tools or files: drop {', '.join(clashing)}"
        )
    return parse_models(args.compare)


async def run_compare(args: Namespace, prompt: str, signals: list[int]) -> int:
    """Ask every model at once and print each answer as it completes; exit 1 only if all failed."""
    from ttt.core.api import close_engine
    from ttt.core.session.persistent import PersistentChatSession

    models = check_usage(args)
    _cancel_on_signals(signals)
    session = open_session(args)
    stored = session if isinstance(session, PersistentChatSession) else None
    sections = not args.json and sys.stdout.isatty()
    partial: list[list[str]] = [[] for _ in models]

    def on_event(index: int, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            partial[index].append(event.text)
        elif sections and isinstance(event, Done | ErrorEvent):
            _print_section(args, models[index], event)

    turn = {
        k: v
        for k, v in {"temperature": args.temperature, "max_tokens": args.max_tokens}.items()
        if v is not None
    }
    try:
        entries = await run_comparison(prompt, models, session=stored, on_event=on_event, **turn)
    finally:
        session.close()
        await close_engine()
        for notice in getattr(session, "notices", ()):
            note(f"ttt: {notice}", style="plain")
    if not sections:
        saved = stored.id if stored is not None and stored.save_error is None else None
        rows = [_json(entry, "".join(text), saved) for entry, text in zip(entries, partial, strict=True)]
        sys.stdout.write(json_safe(json.dumps(rows, ensure_ascii=False)) + "\n")
    return 0 if any(entry.response is not None for entry in entries) else 1


def _print_section(args: Namespace, model: str, event: Done | ErrorEvent) -> None:
    """One model's whole answer under its name, then its numbers (or its error)."""
    sys.stdout.write(f"\n\x1b[1m── {terminal_safe(model)} ──\x1b[0m\n")
    sys.stdout.flush()
    if isinstance(event, ErrorEvent):
        error = event.error
        title = error.title if isinstance(error, AIError) else "Error"
        sys.stdout.write(f"\x1b[31merror: {terminal_safe(f'{title}: {error}')}\x1b[0m\n")
        sys.stdout.flush()
        return
    printer: Any = PlainPrinter(sanitise=True) if args.raw else MarkdownPrinter()
    printer.feed(event.response.text)
    printer.close()
    sys.stdout.write(f"\x1b[2m{terminal_safe(summary(event.response))}\x1b[0m\n")
    sys.stdout.flush()


def _json(entry: Compared, text: str, session_id: str | None) -> dict[str, Any]:
    """One model's object in the ``--json`` list: ``ttt -p --json``'s fields, plus its speed and
    error (an error keeps the text that arrived before it)."""
    if entry.response is not None:
        rate = tokens_per_second(entry.response)
        data = {**entry.response.to_dict(), "tokens_per_second": None if rate is None else round(rate, 1)}
        return {"model": entry.model, **data, "error": None, "session_id": session_id}
    error = entry.result
    title = error.title if isinstance(error, AIError) else "Error"
    return {"model": entry.model, "text": text, "error": f"{title}: {error}", "session_id": session_id}
