"""JSON round trips (lossless, every part type, branches) and the Markdown transcript."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from ttt.core.backends.openai_stream import image_base64
from ttt.core.errors import InvalidRequestError
from ttt.core.session.serialize import (
    FORMAT,
    VERSION,
    SessionRecord,
    StoredMessage,
    export_json,
    export_markdown,
    import_session,
    load_session,
    message_from_dict,
    message_to_dict,
    part_from_dict,
    part_to_dict,
    save_session,
    session_to_dict,
)
from ttt.core.session.store import ROOT, Store
from ttt.core.types import ImagePart, Message, TextPart, ToolCall

from .conftest import every_part_messages


def test_parts_and_messages_round_trip() -> None:
    for message in every_part_messages():
        for part in message.parts:
            assert part_from_dict(json.loads(json.dumps(part_to_dict(part)))) == part
        assert message_from_dict(json.loads(json.dumps(message_to_dict(message)))) == message


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"type": "nope"},
        {"type": "text"},
        {"type": "text", "text": "a", "extra": 1},
        {"type": "tool_call", "id": "1", "name": "x", "arguments": "not a dict"},
        {"type": "tool_result", "call_id": "1", "name": "x", "content": "c", "duration": True},
    ],
)
def test_bad_parts_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        part_from_dict(bad)


def build(store: Store) -> str:
    s = store.create_session("Round ✓ trip", "openai/gpt-4o", "System prompt", {"temperature": 0.0, "x": [1]})
    ids = [
        store.add_message(s.id, m, model="m", input_tokens=1, output_tokens=2, cost=0.25)
        for m in every_part_messages()
    ]
    store.add_message(s.id, Message.assistant("a branch"), parent_id=ids[1])
    store.add_message(s.id, Message.user("second root"), parent_id=ROOT)
    r = store.begin_reply(s.id)
    store.append_reply(r, "partial")
    store.finish_reply(r, status="error", error="boom")
    store.archive(s.id)
    return s.id


MISSING_IMAGE = TextPart(
    "[image /tmp/x.jpg left out on import: it had no data, and a session file can't make ttt read a file]"
)


def as_imported(messages: list[StoredMessage]) -> list[StoredMessage]:
    """``messages`` as an import gives them back: an image whose file is gone becomes a note."""
    return [
        replace(m, parts=[MISSING_IMAGE if isinstance(p, ImagePart) and p.path else p for p in m.parts])
        for m in messages
    ]


def comparable(messages: list[StoredMessage]) -> list[tuple]:
    """Everything but ids, which an import renumbers; parents compared by position instead."""
    position = {m.id: i for i, m in enumerate(messages)}
    return [
        (
            m.role,
            m.parts,
            m.model,
            m.input_tokens,
            m.output_tokens,
            m.cost,
            m.status,
            m.error,
            m.created,
            None if m.parent_id is None else position[m.parent_id],
        )
        for m in messages
    ]


def test_export_import_round_trip_is_lossless(store: Store, tmp_path: Path) -> None:
    session_id = build(store)
    original, messages = store.get_session(session_id), store.messages(session_id)
    assert original is not None
    path = tmp_path / "s.json"
    save_session(path, original, messages)
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == (FORMAT, VERSION) == ("ttt-session", 1)

    with Store(tmp_path / "other.db") as other:
        imported = import_session(other, path)
        assert imported.id == original.id  # free in the other database, so kept
        again = other.get_session(imported.id)
        assert again is not None
        for name in ("title", "model", "system", "params", "created", "archived"):
            assert getattr(again, name) == getattr(original, name)
        assert comparable(other.messages(imported.id)) == comparable(as_imported(messages))
        assert (
            json.loads(export_json(again, other.messages(imported.id)))["messages"][0]["parts"]
            == (data["messages"][0]["parts"])
        )

    twin = import_session(store, path)  # same database: a new id, same content
    assert twin.id != session_id
    assert comparable(store.messages(twin.id)) == comparable(as_imported(messages))


def test_load_session_gives_records(tmp_path: Path) -> None:
    record = SessionRecord("abc123", "t", created=1.5, updated=2.5)
    messages = [
        StoredMessage(1, "abc123", "user", [TextPart("hi")], created=1.0),
        StoredMessage(
            2,
            "abc123",
            "assistant",
            [ToolCall("c", "f", {"a": 1}, '{"a":1}')],
            parent_id=1,
            status="interrupted",
            created=2.0,
        ),
    ]
    path = tmp_path / "x.json"
    save_session(path, record, messages)
    loaded_record, loaded = load_session(path)
    assert loaded_record == record and loaded == messages
    assert not list(tmp_path.glob(".x.json.*"))  # no temp file left behind


def test_streaming_in_a_file_is_imported_as_interrupted(store: Store, tmp_path: Path) -> None:
    record = SessionRecord("s1")
    message = StoredMessage(1, "s1", "assistant", [TextPart("half")], status="streaming")
    path = tmp_path / "x.json"
    path.write_text(json.dumps(session_to_dict(record, [message])))
    imported = import_session(store, path)
    assert store.messages(imported.id)[0].status == "interrupted"


def test_markdown_is_readable_and_complete(store: Store) -> None:
    session_id = build(store)
    session = store.get_session(session_id)
    assert session is not None
    text = export_markdown(session, store.history(session_id, store.messages(session_id)[5].id))
    assert text.startswith("# Round ✓ trip\n")
    assert "## System\n\nSystem prompt" in text
    assert "## User · m" in text and "Plot the data" in text
    assert "<details><summary>Thinking</summary>" in text
    assert "**Tool call** `read_file` (call_1)" in text and '"path": "a.txt"' in text
    assert "**Tool result** `http` (call_2) — error: TimeoutError" in text
    assert "````\n```\nline\n```\n````" in text  # fence longer than the backticks inside
    assert "*[image: image/png, sha256 2cf24dba5fb0]*" in text and "/tmp/x.jpg" in text
    errored = export_markdown(session, store.messages(session_id)[-1:])
    assert "*(error: boom)*" in errored


def test_an_image_from_a_file_is_stored_as_a_reference_and_a_hash(store: Store, tmp_path: Path) -> None:
    pixels = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # big enough to spot in the database
    photo = tmp_path / "photo.png"
    photo.write_bytes(pixels)
    encoded = base64.b64encode(pixels).decode()
    part = ImagePart("image/png", encoded, str(photo), hashlib.sha256(pixels).hexdigest())
    assert part_to_dict(part) == {
        "media_type": "image/png",
        "path": str(photo),
        "sha256": part.sha256,
        "type": "image",
    }
    session = store.create_session()
    store.add_message(session.id, Message.user("look", [part]))
    (loaded,) = store.history(session.id)[0].to_message().images
    assert loaded == replace(part, data="")
    assert image_base64(loaded) == encoded, "the file is read again when the conversation goes on"
    database = store.path.read_bytes() + store.path.with_name("ttt.db-wal").read_bytes()
    assert encoded[:200].encode() not in database and pixels[:200] not in database
    photo.write_bytes(pixels[:-1])
    with pytest.raises(InvalidRequestError, match="has changed since it was attached"):
        image_base64(loaded)
    photo.unlink()
    with pytest.raises(InvalidRequestError, match=r"photo\.png attached earlier .* can't be read"):
        image_base64(loaded)
