"""Sessions in the SQLite store: restarts, FTS filter, long sessions, delete, stopped replies, faults."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.cli.test_storage_faults import fill, small_disk  # noqa: F401  # small_disk: a fixture
from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, FakeBackend, settle
from ttt.core.config import paths
from ttt.core.session.store import SessionRecord, Store, StoredMessage
from ttt.core.types import TextPart
from ttt_tui.app import create_app
from ttt_tui.controller import MARKS
from ttt_tui.screens.dialogs import ConfirmScreen
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage
from ttt_tui.widgets.sidebar import SessionSidebar
from ttt_tui.widgets.status import StatusLine
from ttt_tui.widgets.transcript import KEEP, PAGE, Transcript
from ttt_tui.widgets.welcome import Welcome


async def wait_for(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_conversation_survives_a_restart(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="Paris, of course.", usage=(11, 7)))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"France?", "enter")
        await settle(app)
        first_id = app.controller.current.id
    again = create_app(model=MODEL)
    async with again.run_test() as pilot:
        await pilot.pause()
        assert again.controller.current.id == first_id
        stats = again.stats[first_id]
        assert (stats.input_tokens, stats.output_tokens) == (11, 7)  # the status line's totals too
        assert "11" in str(again.query_one(StatusLine).render())
        assert not again.transcript.query(Welcome)
        texts = [v.text for v in again.transcript.query_children(MessageView)]
        assert texts == ["France?", "Paris, of course."]
        assert [s.title for s in again.controller.list_sessions()] == ["France?"]
        # the conversation goes on with the stored history
        await pilot.press(*"Italy?", "enter")
        await settle(again)
        sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
        assert sent == ["France?", "Paris, of course.", "Italy?"]


async def test_new_session_is_a_draft_until_its_first_prompt(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+n", "ctrl+n")
        assert len(app.controller.list_sessions()) == 1  # just the draft on screen
        assert app.controller.store.list_sessions() == []
        await pilot.press(*"hello", "enter")
        await settle(app)
        assert [s.title for s in app.controller.store.list_sessions()] == ["hello"]


async def test_sidebar_filter_finds_a_word_in_message_text(ollama: OllamaServer) -> None:
    ollama.script.push("Zebras are striped horses.", "Cats purr.")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"savanna?", "enter")
        await settle(app)
        savanna = app.controller.current.id
        await pilot.press("ctrl+n", *"pets?", "enter")
        await settle(app)
        listing = app.query_one("#session-list")
        assert listing.option_count == 2  # type: ignore[attr-defined]
        app.query_one("#session-filter").value = "strip"  # type: ignore[attr-defined]  # as typed: a prefix
        await pilot.pause()
        found = app.controller.list_sessions("strip")
        assert [s.id for s in found] == [savanna]
        assert f"{MARKS[0]}striped{MARKS[1]}" in found[0].snippet
        assert listing.option_count == 1  # type: ignore[attr-defined]
        label = listing.get_option_at_index(0).prompt  # type: ignore[attr-defined]
        assert "striped" in label.plain and MARKS[0] not in label.plain
        assert any("reverse" in str(span.style) for span in label.spans)  # the word is highlighted
        app.post_message(SessionSidebar.Selected(savanna))
        await pilot.pause()
        assert app.transcript.latest(UserMessage).text == "savanna?"  # type: ignore[union-attr]


def _long_session(count: int) -> str:
    roles = ("user", "assistant")
    messages = [
        StoredMessage(
            i + 1,
            "",
            roles[i % 2],
            [TextPart(f"{'question' if i % 2 == 0 else 'answer'} {i // 2}")],
            i or None,
        )  # type: ignore[arg-type]
        for i in range(count)
    ]
    with Store(paths().database) as store:
        return store.insert_session(SessionRecord("long", "A long one", "fake/x"), messages).id


async def test_a_long_stored_session_mounts_the_newest_page_and_loads_older_on_scroll(
    fake: type[FakeBackend],
) -> None:
    session_id = _long_session(600)
    app = create_app(model="fake/x")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.controller.current.id == session_id
        assert not app.controller.current.loaded  # the whole history is read only for a turn
        views = list(app.transcript.query_children(MessageView))
        assert len(views) == 20 and views[-1].text == "answer 299" and views[0].text == "question 290"
        app.transcript.scroll_home(animate=False)
        await wait_for(lambda: len(app.transcript.query_children(MessageView)) > 20)
        views = list(app.transcript.query_children(MessageView))
        assert len(views) == 40 and views[0].text == "question 280"
        await wait_for(lambda: app.transcript.scroll_y > 0)  # the view stays on what was being read


def _contiguous(texts: list[str]) -> tuple[str, str]:
    """The first and last text of views that must be consecutive questions and answers."""
    expected = [
        f"{kind} {n}" for n in range(int(texts[0].split()[1]), 300) for kind in ("question", "answer")
    ]
    assert texts == expected[: len(texts)]
    return texts[0], texts[-1]


async def _scroll(pilot: Any, transcript: Transcript, *, home: bool) -> list[str]:
    """Scroll to the top (or bottom) until the next page is in; the texts of the views mounted."""
    first = transcript.first_index
    if home:
        transcript.scroll_home(animate=False)
    else:
        transcript.scroll_end(animate=False)
    await wait_for(lambda: transcript.first_index != first)
    await pilot.pause()
    return [v.text for v in transcript.query_children(MessageView)]


async def test_scrolling_far_back_keeps_a_bounded_window_that_comes_back_in_order(
    fake: type[FakeBackend],
) -> None:
    _long_session(600)
    app = create_app(model="fake/x")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        transcript = app.transcript
        for _ in range(5):
            texts = await _scroll(pilot, transcript, home=True)
            assert len(texts) <= KEEP * PAGE
        assert _contiguous(texts) == ("question 240", "answer 269") and transcript.has_newer
        while transcript.has_newer:
            texts = await _scroll(pilot, transcript, home=False)
            assert len(texts) <= KEEP * PAGE
        assert _contiguous(texts) == ("question 270", "answer 299")
        await _scroll(pilot, transcript, home=True)
        await _scroll(pilot, transcript, home=True)
        assert transcript.has_newer
        await pilot.press(*"new", "enter")  # sent from far back: shown under the newest page
        await settle(app)
        texts = [v.text for v in transcript.query_children(MessageView)]
        assert texts[-3:] == ["answer 299", "new", "ok"] and not transcript.has_newer


async def test_a_page_holding_this_runs_turns_is_let_go_and_read_back_too(fake: type[FakeBackend]) -> None:
    _long_session(600)
    app = create_app(model="fake/x")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*"new", "enter")
        await settle(app)
        transcript = app.transcript
        for _ in range(4):
            texts = await _scroll(pilot, transcript, home=True)
            assert len(texts) <= KEEP * PAGE + 2  # the newest page has this turn's two on top
        assert transcript.has_newer
        while transcript.has_newer:
            texts = await _scroll(pilot, transcript, home=False)
        assert texts[-4:] == ["question 299", "answer 299", "new", "ok"]


async def test_delete_asks_first_and_really_deletes(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"doomed", "enter")
        await settle(app)
        doomed = app.controller.current.id
        await app.run_action("delete_session")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.controller.store.get_session(doomed) is not None
        await app.run_action("delete_session")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.controller.store.get_session(doomed) is None
        assert app.controller.store.messages(doomed) == []
        assert app.controller.current.id != doomed and app.transcript.query(Welcome)


async def test_a_stopped_reply_is_stored_marked_stopped(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="word " * 400, tokens_per_second=40))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"long", "enter")
        await wait_for(lambda: app.turn is not None and app.turn.reply.tokens > 3)
        await pilot.press("escape")
        await settle(app)
        shown = app.transcript.latest(AssistantMessage)
        assert shown is not None
        stored = app.controller.store.history(app.controller.current.id)
        assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "stopped")]
        assert stored[-1].text == shown.text and 0 < len(shown.text) < len("word " * 400)
    again = create_app(model=MODEL)
    async with again.run_test() as pilot:
        await pilot.pause()
        reply = again.transcript.latest(AssistantMessage)
        assert reply is not None and "stopped" in str(reply._mark.render())


async def test_a_damaged_store_is_reported_and_the_app_keeps_going(ollama: OllamaServer) -> None:
    database = paths().database
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a database" * 100)
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert any(n.title == "Session store error" for n in app._notifications)
        await pilot.press(*"still here?", "enter")
        await settle(app)
        assert app.transcript.latest(AssistantMessage).text == "You said: still here?"  # type: ignore[union-attr]
        assert [s.title for s in app.controller.list_sessions()] == ["still here?"]
    assert database.read_bytes() == b"this is not a database" * 100  # left untouched


async def test_archive_hides_a_session_and_show_archived_brings_it_back(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"old stuff", "enter")
        await settle(app)
        old = app.controller.current.id
        await pilot.press("ctrl+n", *"new stuff", "enter")
        await settle(app)
        app.post_message(SessionSidebar.Command("archive", old))
        await pilot.pause()
        assert [s.title for s in app.controller.list_sessions()] == ["new stuff"]
        assert app.controller.store.get_session(old).archived  # type: ignore[union-attr]
        await app.run_action("toggle_archived")
        listing = app.query_one("#session-list")
        assert listing.option_count == 2  # type: ignore[attr-defined]
        app.post_message(SessionSidebar.Command("archive", old))  # again: unarchive
        await pilot.pause()
        assert not app.controller.store.get_session(old).archived  # type: ignore[union-attr]
        assert app.controller.current.id == old


async def test_edit_and_resend_adds_a_sibling_prompt_in_the_same_session(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        for prompt in ("one", "two"):
            await pilot.press(*prompt, "enter")
            await settle(app)
        original = app.controller.current.id
    again = create_app(model=MODEL)  # views read back from the store carry message ids
    async with again.run_test() as pilot:
        await pilot.pause()
        list(again.transcript.query(UserMessage))[1].focus()
        await pilot.press("e")
        await pilot.pause()
        assert again.controller.current.id == original and again.composer.text == "two"
        assert [v.text for v in again.transcript.query(MessageView)] == ["one", "You said: one"]
        store = again.controller.store
        assert len(store.history(original)) == 4, "nothing changes before the new prompt is sent"
        await pilot.press("end", *" again", "enter")
        await settle(again)
        assert [s.id for s in store.list_sessions()] == [original], "no new session"
        assert [m.text for m in store.history(original)] == [
            "one",
            "You said: one",
            "two again",
            "You said: two again",
        ]
        old, new = (m for m in store.messages(original) if m.text.startswith("two"))
        assert old.parent_id == new.parent_id
        edited = list(again.transcript.query(UserMessage))[-1]
        assert edited.branch is not None and (edited.branch.position, edited.branch.count) == (2, 2)
        sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
        assert sent == ["one", "You said: one", "two again"]


async def test_a_full_disk_keeps_the_reply_and_says_once_it_was_not_saved(
    small_disk: Path,  # noqa: F811  # the fixture imported above
    ollama: OllamaServer,
) -> None:
    text = " ".join(f"word{i}" for i in range(20_000))
    ollama.script.push("first answer", Reply(chunks=[text[i : i + 64] for i in range(0, len(text), 64)]))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"hello", "enter")
        await settle(app)
        fill(small_disk)  # the disk fills up while the app is open
        await pilot.press(*"more", "enter")
        await settle(app)
        assert app.transcript.latest(AssistantMessage).text == text  # type: ignore[union-attr]
        warnings = [n for n in app._notifications if n.title == "Session store"]
        assert len(warnings) == 1 and "could not be saved" in warnings[0].message
        assert not any(n.severity == "error" for n in app._notifications)
