"""Sessions from the command line: --continue, --session, and `ttt sessions ...`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.cli.test_oneshot import ttt
from tests.providers import OllamaServer, Reply

MODEL = ("-m", "ollama/llama3.2")


def session_ids() -> list[str]:
    return [s["id"] for s in json.loads(ttt("sessions", "list", "--json").stdout)]


def test_every_one_shot_is_stored_and_continue_resumes_the_latest(ollama: OllamaServer) -> None:
    first = json.loads(ttt("-p", "my name is Ada", *MODEL, "--json").stdout)
    ttt("-p", "unrelated question", *MODEL)
    assert len(session_ids()) == 2
    resumed = ttt("-p", "what is my name?", "--continue", "--json")
    assert resumed.returncode == 0, resumed.stderr
    sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
    assert sent == ["unrelated question", "You said: unrelated question", "what is my name?"]
    again = ttt("-p", "and again", "--session", first["session_id"][:6], "--json")
    assert json.loads(again.stdout)["session_id"] == first["session_id"]
    sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
    assert sent[0] == "my name is Ada" and sent[-1] == "and again"
    assert ollama.chat_requests[-1].body["model"] == "llama3.2", "the session remembers its model"


def test_no_save_leaves_nothing(ollama: OllamaServer) -> None:
    assert ttt("-p", "secret", *MODEL, "--no-save").returncode == 0
    assert session_ids() == []


def test_list_show_search_rename_archive_delete(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Photosynthesis turns light into sugar."))
    ttt("-p", "explain photosynthesis", *MODEL)
    ttt("-p", "something about volcanoes", *MODEL)
    listing = json.loads(ttt("sessions", "list", "--json").stdout)
    assert [s["title"] for s in listing] == ["something about volcanoes", "explain photosynthesis"]
    assert {"id", "title", "updated"} <= set(listing[0])
    plant = listing[1]["id"]

    shown = ttt("sessions", "show", plant).stdout
    assert "explain photosynthesis" in shown and "Photosynthesis turns light into sugar." in shown

    found = ttt("sessions", "search", "light sugar").stdout
    assert plant in found and "[light]" in found and "[sugar]" in found
    hits = json.loads(ttt("sessions", "search", "volcanoes", "--json").stdout)
    assert hits and hits[0]["session_id"] == listing[0]["id"]
    assert ttt("sessions", "search", "nothingmatches").returncode == 1

    assert ttt("sessions", "rename", plant, "Plants").returncode == 0
    assert ttt("sessions", "archive", plant).returncode == 0
    assert plant not in session_ids()
    assert plant in [s["id"] for s in json.loads(ttt("sessions", "list", "--all", "--json").stdout)]
    assert ttt("sessions", "unarchive", plant).returncode == 0
    assert json.loads(ttt("sessions", "list", "--json").stdout)[-1]["title"] == "Plants"

    assert ttt("sessions", "delete", plant).returncode == 0
    assert plant not in session_ids()
    assert ttt("sessions", "search", "photosynthesis").returncode == 1, "deleted means gone from search too"
    missing = ttt("sessions", "show", plant)
    assert missing.returncode == 1 and "No session" in missing.stderr


def test_export_and_import_round_trip(ollama: OllamaServer, tmp_path: Path) -> None:
    ollama.script.push(Reply(tool_calls=[("calculate", {"expression": "2+3"})]), Reply(text="five"))
    sid = json.loads(ttt("-p", "add", *MODEL, "--tools", "calculate", "--json").stdout)["session_id"]
    out = tmp_path / "s.json"
    assert ttt("sessions", "export", sid, "--format", "json", "-o", str(out)).returncode == 0
    markdown = ttt("sessions", "export", sid, "--format", "md").stdout
    assert "calculate" in markdown and "five" in markdown
    new_id = ttt("sessions", "import", str(out)).stdout.strip()
    assert new_id and len(session_ids()) == 2
    copy = tmp_path / "copy.json"
    ttt("sessions", "export", new_id, "--format", "json", "-o", str(copy))
    original, imported = json.loads(out.read_text()), json.loads(copy.read_text())

    def shape(messages: list[dict]) -> list[dict]:
        """Messages with ids replaced by positions (an import renumbers them)."""
        position = {m["id"]: i for i, m in enumerate(messages)}
        return [{**m, "id": position[m["id"]], "parent_id": position.get(m["parent_id"])} for m in messages]

    assert len(original["messages"]) == 4
    assert shape(original["messages"]) == shape(imported["messages"])


def test_bad_import_files_are_refused_and_change_nothing(
    ollama: OllamaServer, isolated: Path, tmp_path: Path
) -> None:
    ttt("-p", "keep me", *MODEL)
    database = isolated / "data" / "ttt.db"
    before = session_ids()
    bad = tmp_path / "bad.json"
    for content in ("{not json", '{"format": "ttt-session", "version": 99}', '{"hello": 1}'):
        bad.write_text(content)
        result = ttt("sessions", "import", str(bad))
        assert result.returncode == 2 and str(bad) in result.stderr and "Traceback" not in result.stderr
    assert session_ids() == before
    assert database.exists()


def test_a_corrupt_database_is_named_and_left_alone(isolated: Path, ollama: OllamaServer) -> None:
    database = isolated / "data" / "ttt.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not sqlite" * 100)
    digest = hashlib.sha256(database.read_bytes()).hexdigest()
    result = ttt("-p", "hi", *MODEL)  # the reply still comes; the note says why it wasn't kept
    assert result.returncode == 0 and result.stdout == "You said: hi\n"
    assert "could not be saved" in result.stderr and str(database) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert hashlib.sha256(database.read_bytes()).hexdigest() == digest
    assert ttt("-p", "hi", *MODEL, "--no-save").stdout == "You said: hi\n", "--no-save still works"


def test_show_and_continue_follow_the_active_branch(ollama: OllamaServer) -> None:
    from ttt.core.session.persistent import PersistentChatSession

    ollama.script.push("first answer", "second answer", "third answer")
    session = PersistentChatSession.open(model="ollama/llama3.2")
    session.ask("q")
    session.regenerate()
    session.regenerate()
    first = session.store.messages(session.id)[1]
    session.switch(first.id)
    session.close()
    shown = ttt("sessions", "show", session.id)
    assert shown.returncode == 0, shown.stderr
    assert "first answer" in shown.stdout and "second answer" not in shown.stdout
    assert "2 other branches are kept" in shown.stdout
    resumed = ttt("-p", "go on", "--continue", "--json")
    assert json.loads(resumed.stdout)["session_id"] == session.id
    sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
    assert sent == ["q", "first answer", "go on"]
    again = ttt("sessions", "show", session.id).stdout
    assert again.index("first answer") < again.index("go on") and "2 other branches are kept" in again


def test_show_says_nothing_of_branches_when_there_is_one(ollama: OllamaServer) -> None:
    sid = json.loads(ttt("-p", "only", *MODEL, "--json").stdout)["session_id"]
    shown = ttt("sessions", "show", sid).stdout
    assert "You said: only" in shown and "branch" not in shown
