"""``ttt sessions ...``: list, show, search, rename, delete, archive, compact, export and import."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ttt.cli.render import shown
from ttt.core.sanitize import json_safe


def add_parsers(commands: Any) -> None:
    sessions = commands.add_parser("sessions", help="stored conversations")
    actions = sessions.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("-n", "--limit", type=int, default=50)
    listing.add_argument("--all", action="store_true", help="include archived sessions")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)

    show = actions.add_parser("show", help="print a session")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_show)

    search = actions.add_parser("search", help="find words in titles and messages")
    search.add_argument("query")
    search.add_argument("-n", "--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)

    rename = actions.add_parser("rename", help="give a session a title")
    rename.add_argument("id")
    rename.add_argument("title")
    rename.set_defaults(handler=cmd_rename)

    for name, handler, text in (
        ("delete", cmd_delete, "delete a session for good"),
        ("archive", cmd_archive, "hide a session from the list"),
        ("unarchive", cmd_unarchive, "bring an archived session back"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("id")
        action.set_defaults(handler=handler)

    compact = actions.add_parser(
        "compact", help="summarise older turns; later turns send the summary instead (the turns stay)"
    )
    compact.add_argument("id")
    compact.add_argument("--keep", type=int, default=1, help="newest turns kept as they are (default 1)")
    compact.add_argument("-m", "--model", help="model that summarises (default: the session's)")
    compact.set_defaults(handler=cmd_compact)

    export = actions.add_parser("export", help="write a session as Markdown or JSON")
    export.add_argument("id")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    export.set_defaults(handler=cmd_export)

    load = actions.add_parser("import", help="store a session from a JSON export")
    load.add_argument("file")
    load.set_defaults(handler=cmd_import)


def _store() -> Any:
    from ttt.core.session.store import Store

    return Store.default()


def _session(prefix: str) -> tuple[Any, Any, list[Any]]:
    """The store, the session a user named (a unique id prefix is enough) and its active branch."""
    store = _store()
    session_id = store.resolve(prefix)
    return store, store.get_session(session_id), store.history(session_id)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def cmd_list(args: argparse.Namespace) -> int:
    sessions = _store().list_sessions(args.limit, 0, include_archived=args.all)
    if args.json:
        rows = [
            {
                "id": s.id,
                "title": s.title,
                "model": s.model,
                "created": s.created,
                "updated": s.updated,
                "archived": s.archived,
                "messages": s.message_count,
            }
            for s in sessions
        ]
        print(json_safe(json.dumps(rows, indent=2, ensure_ascii=False)))
        return 0
    for s in sessions:
        mark = " (archived)" if s.archived else ""
        print(f"{s.id}  {_when(s.updated)}  {s.message_count:>4} msgs  {shown(s.title or 'Untitled')}{mark}")
    if not sessions:
        print("No sessions yet: `ttt -p ...` or `ttt` starts one.", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """The active branch (the one ``ttt`` shows and ``--continue`` goes on with); the text form
    ends by saying how many other branches the session keeps."""
    from ttt.core.session import serialize
    from ttt.core.session.branches import branches

    store, record, messages = _session(args.id)
    if args.json:
        print(json_safe(serialize.export_json(record, messages)))
        return 0
    sys.stdout.write(shown(serialize.export_markdown(record, messages)))
    others = len(branches(store, record.id)) - 1
    if others > 0:
        kept = "1 other branch is" if others == 1 else f"{others} other branches are"
        print(f"\n---\nThis is the active branch; {kept} kept (Alt+←/→ in `ttt` walks them).")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    tty = sys.stdout.isatty()
    hits = _store().search(args.query, args.limit, markers=("\ue000", "\ue001") if tty else ("[", "]"))
    if args.json:
        keys = ("session_id", "title", "message_id", "role", "snippet", "rank", "archived")
        found = [{k: getattr(h, k) for k in keys} for h in hits]
        print(json_safe(json.dumps(found, indent=2, ensure_ascii=False)))
        return 0
    for hit in hits:
        snippet = " ".join(hit.snippet.split())
        if tty:  # the text's own control sequences go; then the private-use markers become bold
            snippet = shown(snippet).replace("\ue000", "\x1b[1;33m").replace("\ue001", "\x1b[0m")
        print(f"{hit.session_id}  {shown(hit.title or 'Untitled')}\n    {snippet}")
    if not hits:
        print(f"No matches for {args.query!r}.", file=sys.stderr)
        return 1
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    store = _store()
    store.rename(store.resolve(args.id), args.title)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = _store()
    session_id = store.resolve(args.id)
    store.delete(session_id)
    print(f"deleted {session_id}", file=sys.stderr)
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    store = _store()
    store.archive(store.resolve(args.id))
    return 0


def cmd_unarchive(args: argparse.Namespace) -> int:
    store = _store()
    store.unarchive(store.resolve(args.id))
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from ttt.core.session.persistent import PersistentChatSession

    store = _store()
    options = {"model": args.model} if args.model else {}
    with PersistentChatSession.open(args.id, store=store, **options) as session:
        summary = session.compact(args.keep)
    print(shown(summary))
    print(f"compacted {session.summarised} messages of {session.id}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ttt.core.session import serialize

    _, record, messages = _session(args.id)
    if args.format == "json" and args.output:
        serialize.save_session(args.output, record, messages)
        return 0
    text = (
        serialize.export_json(record, messages)
        if args.format == "json"
        else serialize.export_markdown(record, messages)
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(json_safe(text) if args.format == "json" else shown(text))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ttt.core.session.serialize import import_session

    record = import_session(_store(), args.file)
    print(record.id)
    return 0
