"""Session records and their JSON and Markdown forms.

The JSON form is lossless and versioned (``{"format": "ttt-session", "version": 1, ...}``) so a
session survives export/import or ``save``/``load`` exactly, tool calls included. Plain JSON
only — never pickle — so a session file can't run code when it is loaded.

A session file is untrusted: it never makes ttt read a local file. An exported image carries its
bytes; on import an image keeps only bytes that match their hash, and a path is dropped.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ttt.core.errors import InvalidRequestError, SessionFileError
from ttt.core.types import ImagePart, Message, Part, Role, TextPart, ThinkingPart, ToolCall, ToolResult

if TYPE_CHECKING:
    from ttt.core.session.store import Store

FORMAT = "ttt-session"
VERSION = 1
MAX_DEPTH = 100  # levels of JSON nesting an imported file may use
INT_RANGE = range(-(2**63), 2**63)  # what SQLite can hold
ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")
Status = Literal["complete", "streaming", "interrupted", "error", "stopped"]
STATUSES: tuple[Status, ...] = ("complete", "streaming", "interrupted", "error", "stopped")

# what each part field may hold in JSON, from its annotation (None: anything, e.g. the type tag)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str | None": (str, type(None)),
    "float": (int, float),
    "dict[str, Any]": (dict,),
    "list[ImagePart]": (list,),
}
_PARTS: dict[str, tuple[type, dict[str, tuple[type, ...] | None]]] = {
    cls.type: (cls, {f.name: _JSON_TYPES.get(str(f.type)) for f in dataclasses.fields(cls)})
    for cls in (TextPart, ThinkingPart, ToolCall, ToolResult, ImagePart)
}


@dataclass
class SessionRecord:
    """One conversation's metadata; ``updated`` moves when its messages change."""

    id: str
    title: str = ""
    model: str = ""
    system: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0
    archived: bool = False
    message_count: int = 0


@dataclass
class StoredMessage:
    """A message as stored: its parts plus where it sits in the tree and what it cost."""

    id: int
    session_id: str
    role: Role
    parts: list[Part] = field(default_factory=list)
    parent_id: int | None = None
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    status: Status = "complete"
    error: str | None = None
    created: float = 0.0

    def to_message(self) -> Message:
        return Message(self.role, list(self.parts))

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


# --- parts and messages ---------------------------------------------------------------------


def part_to_dict(part: Part) -> dict[str, Any]:
    """A part as plain JSON. An image read from a file is kept as its path and hash, not a copy
    of its bytes (backends read the file again when the conversation goes on)."""
    data = dataclasses.asdict(part)
    if isinstance(part, ImagePart) and part.path:
        del data["data"]
    if isinstance(part, ToolResult):
        data["images"] = [part_to_dict(image) for image in part.images]
    return data


def part_from_dict(data: Any) -> Part:
    """The inverse of ``part_to_dict``; ValueError names what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a part must be an object")
    kind = data.get("type")
    if kind not in _PARTS:
        raise ValueError(f"unknown part type {kind!r}")
    cls, fields = _PARTS[kind]
    for name, value in data.items():
        if name not in fields:
            raise ValueError(f"{kind} part has an unknown field {name!r}")
        allowed = fields[name]
        if allowed and (value.__class__ is bool or not isinstance(value, allowed)):
            raise ValueError(f"{kind} part field {name!r} has the wrong type")
    if kind == "tool_result" and "images" in data:
        images = [part_from_dict(image) for image in data["images"]]
        if not all(isinstance(image, ImagePart) for image in images):
            raise ValueError("tool_result part field 'images' holds a part that is not an image")
        data = {**data, "images": images}
    try:
        return cls(**data)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{kind} part: {exc}") from None


def message_to_dict(message: Message) -> dict[str, Any]:
    return {"role": message.role, "parts": [part_to_dict(p) for p in message.parts]}


def message_from_dict(data: Any) -> Message:
    if not isinstance(data, dict) or data.get("role") not in ROLES or not isinstance(data.get("parts"), list):
        raise ValueError("a message needs a known 'role' and a 'parts' list")
    return Message(data["role"], [part_from_dict(p) for p in data["parts"]])


def stored_to_dict(message: StoredMessage) -> dict[str, Any]:
    data = dataclasses.asdict(message)  # parts become their dicts too
    del data["session_id"]
    return data


def stored_from_dict(data: Any, session_id: str) -> StoredMessage:
    base = message_from_dict(data)
    fields = {f.name for f in dataclasses.fields(StoredMessage)} - {"session_id"}
    unknown = set(data) - fields
    if unknown:
        raise ValueError(f"message has unknown fields {sorted(unknown)}")
    checks: dict[str, tuple[type, ...]] = {
        "id": (int,),
        "parent_id": (int, type(None)),
        "model": (str,),
        "input_tokens": (int,),
        "output_tokens": (int,),
        "cost": (int, float, type(None)),
        "error": (str, type(None)),
        "created": (int, float),
    }
    for name, allowed in checks.items():
        if name in data and (isinstance(data[name], bool) or not isinstance(data[name], allowed)):
            raise ValueError(f"message field {name!r} has the wrong type")
        if isinstance(data.get(name), int) and data[name] not in INT_RANGE:
            raise ValueError(f"message field {name!r} is out of range")
    if "id" not in data:
        raise ValueError("a message needs an 'id'")
    if data.get("status", "complete") not in STATUSES:
        raise ValueError(f"unknown message status {data.get('status')!r}")
    rest = {k: v for k, v in data.items() if k not in ("role", "parts")}
    return StoredMessage(session_id=session_id, role=base.role, parts=base.parts, **rest)


# --- whole sessions -------------------------------------------------------------------------


def session_to_dict(session: SessionRecord, messages: list[StoredMessage]) -> dict[str, Any]:
    """The versioned file form; ``messages`` may be the whole tree (branches keep ``parent_id``).
    Images attached from files carry their bytes, as an import will not read the files."""
    meta = dataclasses.asdict(session)
    del meta["message_count"]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported": time.time(),
        "session": meta,
        "messages": [stored_to_dict(dataclasses.replace(m, parts=_with_bytes(m.parts))) for m in messages],
    }


def _with_bytes(parts: list[Part]) -> list[Part]:
    """Parts with each file image's bytes read in (checked against its hash); an image whose file
    is gone or changed stays a reference, which an import turns into a note."""
    from ttt.core.attachments import image_base64

    filled: list[Part] = []
    for part in parts:
        if isinstance(part, ImagePart) and not part.data:
            try:
                part = dataclasses.replace(part, data=image_base64(part))
            except InvalidRequestError:
                pass
        filled.append(part)
    return filled


def _imported(part: Part) -> Part:
    """A part from a session file, made safe: an image keeps inline bytes only, with their hash
    recomputed (a stated hash must match), and never a path; anything else becomes a note."""
    if not isinstance(part, ImagePart):
        return part
    name = part.path or part.media_type
    try:
        data = base64.b64decode(part.data, validate=True)
    except (binascii.Error, ValueError):
        data = b""
    digest = hashlib.sha256(data).hexdigest()
    if data and part.sha256 in ("", digest):
        return ImagePart(part.media_type, part.data, sha256=digest)
    why = (
        "its data does not match its sha256"
        if data
        else "it had no data, and a session file can't make ttt read a file"
    )
    return TextPart(f"[image {name} left out on import: {why}]")


def session_from_dict(data: Any, source: str) -> tuple[SessionRecord, list[StoredMessage]]:
    """Validate everything before anything is stored; errors name ``source``."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SessionFileError(f'{source} is not a ttt session file (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise SessionFileError(
            f"{source} is a ttt session file of version {data.get('version')!r}; "
            f"this ttt reads version {VERSION} — a newer ttt may read it"
        )
    meta, raw = data.get("session"), data.get("messages")
    if not isinstance(meta, dict) or not isinstance(raw, list):
        raise SessionFileError(f'{source}: needs a "session" object and a "messages" list')
    try:
        session = _session_from_dict(meta)
        messages = [stored_from_dict(m, session.id) for m in raw]
    except (ValueError, TypeError) as exc:
        raise SessionFileError(f"{source}: {exc}") from None
    for message in messages:
        message.parts = [_imported(part) for part in message.parts]
    seen: set[int] = set()
    for message in messages:
        if message.id in seen:
            raise SessionFileError(f"{source}: message id {message.id} appears twice")
        if message.parent_id is not None and message.parent_id not in seen:
            raise SessionFileError(
                f"{source}: message {message.id} comes before its parent {message.parent_id}"
            )
        seen.add(message.id)
    return session, messages


def _session_from_dict(meta: dict[str, Any]) -> SessionRecord:
    fields = {f.name for f in dataclasses.fields(SessionRecord)} - {"message_count"}
    if set(meta) - fields:
        raise ValueError(f"session has unknown fields {sorted(set(meta) - fields)}")
    expected = {"id": str, "title": str, "model": str, "system": str, "params": dict, "archived": bool}
    for name, kind in expected.items():
        if name in meta and not isinstance(meta[name], kind):
            raise ValueError(f"session field {name!r} has the wrong type")
    for name in ("created", "updated"):
        if name in meta and (isinstance(meta[name], bool) or not isinstance(meta[name], (int, float))):
            raise ValueError(f"session field {name!r} has the wrong type")
        if isinstance(meta.get(name), int) and meta[name] not in INT_RANGE:
            raise ValueError(f"session field {name!r} is out of range")
    if not meta.get("id"):
        raise ValueError("the session needs an 'id'")
    return SessionRecord(**meta)


def export_json(session: SessionRecord, messages: list[StoredMessage]) -> str:
    return json.dumps(session_to_dict(session, messages), ensure_ascii=False, indent=2)


def save_session(path: str | os.PathLike[str], session: SessionRecord, messages: list[StoredMessage]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(export_json(session, messages))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_session(path: str | os.PathLike[str]) -> tuple[SessionRecord, list[StoredMessage]]:
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise SessionFileError(f"Cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SessionFileError(f"{source} is not UTF-8 text, so not a ttt session file") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise SessionFileError(f"{source}: its JSON is nested too deeply to be a ttt session file") from None
    except ValueError as exc:  # NaN, Infinity, an out-of-range number
        raise SessionFileError(f"{source}: {exc}") from None
    if _depth(data) > MAX_DEPTH:
        raise SessionFileError(f"{source}: its JSON is nested more than {MAX_DEPTH} levels deep")
    return session_from_dict(data, source)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _depth(data: Any) -> int:
    """How deeply ``data`` nests, counted without recursion (storing or exporting a deeper
    value would overflow the interpreter's stack later)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest


def import_session(store: Store, path: str | os.PathLike[str]) -> SessionRecord:
    """Read, validate, then store in one transaction: a bad file stores nothing."""
    session, messages = load_session(path)
    return store.insert_session(session, messages)


# --- Markdown -------------------------------------------------------------------------------


def export_markdown(session: SessionRecord, messages: list[StoredMessage]) -> str:
    """A readable transcript; tool calls and results appear as fenced blocks."""
    created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(session.created))
    lines = [
        f"# {session.title or 'Untitled session'}",
        "",
        f"- Session: `{session.id}`",
        f"- Created: {created}",
    ]
    if session.model:
        lines.append(f"- Model: `{session.model}`")
    if session.system:
        lines += ["", "## System", "", session.system]
    for message in messages:
        heading = message.role.capitalize() + (f" · {message.model}" if message.model else "")
        lines += ["", f"## {heading}", ""]
        for part in message.parts:
            lines += [*_part_markdown(part), ""]
        if message.status != "complete":
            lines.append(f"*({message.status}{': ' + message.error if message.error else ''})*")
    return "\n".join(lines).rstrip() + "\n"


def _part_markdown(part: Part) -> list[str]:
    if isinstance(part, TextPart):
        return [part.text]
    if isinstance(part, ThinkingPart):
        return ["<details><summary>Thinking</summary>", "", part.text, "", "</details>"]
    if isinstance(part, ToolCall):
        arguments = (
            json.dumps(part.arguments, ensure_ascii=False, indent=2) if part.arguments else part.raw_arguments
        )
        return [f"**Tool call** `{part.name}` ({part.id})", "", *_fence(arguments or "{}", "json")]
    if isinstance(part, ToolResult):
        outcome = f" — error: {part.error}" if part.error else ""
        return [f"**Tool result** `{part.name}` ({part.call_id}){outcome}", "", *_fence(part.content, "")]
    where = part.path or (f"sha256 {part.sha256[:12]}" if part.sha256 else "inline")
    return [f"*[image: {part.media_type}, {where}]*"]


def _fence(text: str, language: str) -> list[str]:
    """A code fence longer than any backtick run inside, so the content can't close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]
