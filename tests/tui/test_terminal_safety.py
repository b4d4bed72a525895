"""Nothing from outside reaches the terminal through the app: replies, thinking, tool calls and
results (a file read by the model), errors, stored and imported sessions, search snippets,
dialogs and model names are rendered, and every screen's segments and the bytes Textual would
write for them are checked against the escape corpus."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Collapsible

from tests.escapes import HOSTILE, MARK, forbidden_in, raw_controls
from tests.providers import OllamaServer, Reply
from tests.providers.ollama_server import OllamaModel
from tests.tui.conftest import settle
from ttt.core.session.store import Store
from ttt.core.types import Message, TextPart, ThinkingPart, ToolCall, ToolResult
from ttt_tui.app import TTTApp, create_app, offered_tools
from ttt_tui.screens.dialogs import ApprovalScreen, TextScreen
from ttt_tui.screens.model_picker import ModelPicker
from ttt_tui.widgets.inspector import ToolCallCard
from ttt_tui.widgets.message import AssistantMessage

TOOLS_MODEL = "ollama/qwen3:8b"


def chunks(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def screen_text(app: TTTApp) -> str:
    """Every screen on the stack as its segments' text, after checking that the bytes Textual
    would write for them (styling included) carry no sequence from the corpus."""
    lines = []
    for screen in app.screen_stack:
        strips = screen._compositor.render_strips()
        written = "".join(strip.render(app.console) for strip in strips).encode()
        assert forbidden_in(written) == [], type(screen).__name__
        lines += ["".join(segment.text for segment in strip) for strip in strips]
    return "\n".join(lines)


def assert_clean(app: TTTApp) -> str:
    text = screen_text(app)
    assert raw_controls(text) == []
    assert MARK not in text
    assert raw_controls(app.title + app.sub_title) == [] and app.title == "ttt"
    return text


async def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_a_hostile_file_reply_and_thinking_never_reach_the_terminal(ollama: OllamaServer) -> None:
    Path("evil.txt").write_text(HOSTILE)
    ollama.script.push(
        Reply(tool_calls=[("read_file", {"path": "evil.txt"})]),
        Reply(chunks=chunks(HOSTILE), thinking=HOSTILE),
    )
    app = create_app(model=TOOLS_MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.press(*"read evil.txt", "enter")
        await settle(app)
        await app.run_action("toggle_inspector")
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage)
        reply.query_one(Collapsible).collapsed = False  # the thinking, open
        await pilot.pause(0.2)
        text = assert_clean(app)
        assert reply.text.startswith("before ") and reply.text.endswith(" after")
        assert "<U+202E>evil<U+202C>" in reply.text and "<U+202E>evil<U+202C>" in reply.thinking
        card = app.query(ToolCallCard).first()
        assert card.result is not None and "before" in card.result.content
        assert "before" in text and "after" in text


async def test_the_approval_dialog_shows_hostile_arguments_cleaned(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("write_file", {"path": "x.txt", "content": HOSTILE})]), Reply(text="ok")
    )
    app = create_app(model=TOOLS_MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press(*"write", "enter")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.pause(0.2)
        assert "before" in assert_clean(app)
        await pilot.press("n")
        await settle(app)
        assert not Path("x.txt").exists()
        assert_clean(app)


async def test_a_hostile_error_body_is_shown_cleaned(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(status=400, error_message=HOSTILE))
    app = create_app(model=TOOLS_MODEL)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"hi", "enter")
        await settle(app)
        await pilot.pause(0.2)
        assert "before" in assert_clean(app)  # the notification and the reply's mark


@pytest.fixture
def hostile_session(isolated: Path) -> Iterator[str]:
    """A stored session as an import could bring it: title, model, system prompt, messages,
    thinking, tool calls and results, and an error, all carrying the corpus."""
    with Store.default() as store:
        record = store.create_session(f"T{HOSTILE}", f"ollama/m{HOSTILE}", HOSTILE)
        store.add_message(record.id, Message("user", [TextPart(HOSTILE)]))
        call = ToolCall(f"c{HOSTILE}", f"read{HOSTILE}", {"path": HOSTILE})
        parts = [ThinkingPart(HOSTILE), TextPart(HOSTILE), call]
        store.add_message(record.id, Message("assistant", parts), model=f"m{HOSTILE}")
        result = ToolResult(call.id, call.name, HOSTILE, error=HOSTILE, outcome="error")
        store.add_message(record.id, Message("tool", [result]))
        store.add_message(record.id, Message("assistant", [TextPart(HOSTILE)]), status="error", error=HOSTILE)
        store.add_message(record.id, Message("user", [TextPart("again")]))
        # text and thinking interleaved, as a stream stores them: sequences cut across parts
        pieces = chunks(HOSTILE, 7)
        interleaved = [kind(piece) for piece in pieces for kind in (TextPart, ThinkingPart)]
        store.add_message(record.id, Message("assistant", interleaved))
        yield record.id


async def test_a_hostile_stored_session_sidebar_search_and_dialogs(hostile_session: str) -> None:
    app = create_app(session_id=hostile_session)
    async with app.run_test(size=(160, 60)) as pilot:
        await app.run_action("toggle_inspector")
        await pilot.pause(0.2)
        text = assert_clean(app)
        assert "Tbefore" in text  # the title in the sidebar
        await pilot.click("#session-filter")
        await pilot.press(*"before")
        await pilot.pause(0.5)
        assert "before" in assert_clean(app)  # search snippets
        await app.run_action("rename_session")
        await wait_for(lambda: isinstance(app.screen, TextScreen))
        await pilot.pause(0.1)
        assert_clean(app)
        await pilot.press("escape")
        await app.run_action("system_prompt")
        await pilot.pause(0.2)
        assert_clean(app)
        await pilot.press("escape")
        await app.run_action("delete_session")
        await pilot.pause(0.2)
        assert_clean(app)


HOSTILE_NAME = f"evil\x1b]0;{MARK}\x07\x9b2J\u202e:7b"


async def test_hostile_model_names_in_the_picker_and_status_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with OllamaServer(models=[OllamaModel(HOSTILE_NAME)]) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        app = create_app(model=f"ollama/{HOSTILE_NAME}")
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press(*"hi", "enter")
            await settle(app)
            await app.run_action("pick_model")
            await wait_for(lambda: isinstance(app.screen, ModelPicker) and bool(app.screen.models))
            await pilot.pause(0.2)
            assert "evil" in assert_clean(app)


async def test_a_hostile_paste_into_the_composer_is_cleaned(ollama: OllamaServer) -> None:
    app = create_app(model=TOOLS_MODEL)
    async with app.run_test(size=(140, 40)) as pilot:
        app.composer.post_message(events.Paste(HOSTILE))
        await pilot.pause(0.3)
        assert app.composer.text.startswith("before ") and app.composer.text.endswith(" after")
        assert_clean(app)
