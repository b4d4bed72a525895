"""Sessions, model picker, help, themes, palette, tool approval and lazy loading."""

from __future__ import annotations

import asyncio
import shutil
import stat

from tests.conftest import REPO
from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, FakeBackend, settle
from ttt.core import api
from ttt.core.config import paths
from ttt.core.tools.base import tool
from ttt_tui.app import create_app
from ttt_tui.commands import AppCommands, SessionCommands, ThemeCommands
from ttt_tui.screens.dialogs import ApprovalScreen, ConfirmScreen, TextScreen
from ttt_tui.screens.help import HelpScreen
from ttt_tui.screens.model_picker import ModelPicker
from ttt_tui.widgets.inspector import ToolCallCard
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage
from ttt_tui.widgets.sidebar import SessionSidebar


@tool(permission="ask", register=False)
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_model_picker_filters_and_sets_the_session_model(fake: type[FakeBackend]) -> None:
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        await pilot.press("ctrl+o")
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        await settle(app)
        await pilot.press(*"fakex")
        assert picker.query_one("#picker-list").option_count >= 1  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert app.controller.current.model == "fake/x"
        await pilot.press("ctrl+o", *"ollama/other", "escape")
        assert app.controller.current.model == "fake/x"


async def test_help_lists_every_binding_with_its_id(fake: type[FakeBackend]) -> None:
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {
            "help",
            "cancel",
            "composer.send",
            "composer.newline",
            "pick_model",
            "message.copy_code",
            "branch_previous",
            "branch_next",
        } <= ids
        assert ("Alt+Left", "Previous branch", "branch_previous") in app.screen.rows
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_names_the_quit_key_and_it_quits(fake: type[FakeBackend]) -> None:
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        await pilot.press("f1")
        assert ("Ctrl+q", "Quit", "quit") in app.screen.rows  # type: ignore[attr-defined]
        await pilot.press("escape", "ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_theme_is_remembered_outside_the_users_config(fake: type[FakeBackend]) -> None:
    config = paths().user_config
    config.parent.mkdir(parents=True)
    shutil.copy(REPO / "ttt.toml.example", config)
    before = config.read_bytes()
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert config.read_bytes() == before
    state = paths().data_dir / "state.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    api.reset()
    app = create_app(model="fake/x")
    async with app.run_test():
        assert app.theme == "nord"


async def test_sessions_new_switch_rename_filter_delete(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"about cats", "enter")
        await settle(app)
        first = app.controller.current.id
        await pilot.press("ctrl+n")
        await pilot.press(*"about dogs", "enter")
        await settle(app)
        assert len(app.controller.list_sessions()) == 2
        app.post_message(SessionSidebar.Selected(first))
        await pilot.pause()
        assert app.transcript.latest(UserMessage).text == "about cats"  # type: ignore[union-attr]
        await app.run_action("rename_session")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        app.screen.query_one("#text-value").value = "Felines"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert app.controller.current.title == "Felines"
        app.query_one("#session-filter").value = "dogs"  # type: ignore[attr-defined]
        await pilot.pause()
        assert app.query_one("#session-list").option_count == 1  # type: ignore[attr-defined]
        await app.run_action("delete_session")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert [s.title for s in app.controller.list_sessions()] == ["about dogs"]


async def test_edit_goes_back_to_before_the_prompt_in_the_same_session(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"one", "enter")
        await settle(app)
        await pilot.press(*"two", "enter")
        await settle(app)
        original = app.controller.current.id
        views = list(app.transcript.query(UserMessage))
        views[1].focus()
        await pilot.press("e")
        await pilot.pause()
        assert app.controller.current.id == original
        assert app.composer.text == "two"
        assert [m.text for m in app.controller.current.chat.messages] == ["one", "You said: one"]
        assert [v.text for v in app.transcript.query(MessageView)] == ["one", "You said: one"]


async def test_tool_calls_wait_for_approval(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(tool_calls=[("add", {"a": 2, "b": 3})]),
        Reply(tool_calls=[("add", {"a": 1, "b": 1})]),
        Reply(text="Five, then declined."),
    )
    app = create_app(model=MODEL, tools=[add])
    async with app.run_test() as pilot:
        await pilot.press(*"add", "enter")
        for _ in range(1000):
            if isinstance(app.screen, ApprovalScreen):
                break
            await asyncio.sleep(0.01)
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("y")
        for _ in range(1000):
            if isinstance(app.screen, ApprovalScreen) and len(app.query(ToolCallCard)) == 2:
                break
            await asyncio.sleep(0.01)
        cards = list(app.query(ToolCallCard))
        assert cards[0].status == "ok" and cards[0].result is not None and cards[0].result.content == "5"
        cards[1].post_message(ToolCallCard.Decided(cards[1], "no"))  # answered from the inspector
        await settle(app)
        assert not isinstance(app.screen, ApprovalScreen)
        assert cards[1].status == "denied"
        assert "declined" in app.transcript.children[-1].text  # type: ignore[attr-defined]
        summary = [
            str(reply._tools.render()) for reply in app.transcript.query(AssistantMessage) if reply._tools
        ]
        assert len(summary) == 1 and "add  ok" in summary[0] and "add  denied" in summary[0], summary


async def test_palette_providers_offer_sessions_themes_and_commands(fake: type[FakeBackend]) -> None:
    app = create_app(model="fake/x")
    async with app.run_test():
        screen = app.screen
        titles = {
            title
            for provider in (SessionCommands, ThemeCommands, AppCommands)
            for title, _, _ in provider(screen).entries()
        }
        assert "Session: New chat" in titles
        assert "Theme: nord" in titles
        assert "Choose model…" in titles


async def test_modals_show_over_the_dimmed_app(fake: type[FakeBackend]) -> None:
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        assert app.screen.styles.background.a == 1
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert 0 < app.screen.styles.background.a < 1


async def test_failed_and_denied_cards_show_the_message_once(fake: type[FakeBackend]) -> None:
    from ttt.core.tools.executor import _failure
    from ttt.core.types import ToolCall
    from ttt_tui.widgets.inspector import ToolInspector

    app = create_app(model="fake/x")
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.press("ctrl+t")
        inspector = app.query_one(ToolInspector)
        failed = inspector.add(ToolCall("1", "fetch", {}))
        denied = inspector.add(ToolCall("2", "write_file", {}))
        await pilot.pause()
        failed.set_result(_failure(failed.call, "connection refused"))
        denied.set_decision("no")
        denied.set_result(_failure(denied.call, "the user declined", outcome="denied"))
        await pilot.pause()
        for card, message in ((failed, "connection refused"), (denied, "the user declined")):
            text = str(card.query_one(".tool-result").render())
            assert text.count(message) == 1, text
        assert failed.status == "failed" and denied.status == "denied"


async def test_model_picker_highlights_the_current_model(fake: type[FakeBackend]) -> None:
    from ttt.core.models import ModelInfo

    models = [ModelInfo(f"fake/{name}", "fake", backend="fake", available=True) for name in "abc"]
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        picker = ModelPicker("fake/b", models=models)
        await app.push_screen(picker)
        await pilot.pause()
        listing = picker.query_one("#picker-list")
        assert listing.get_option_at_index(listing.highlighted).id == "fake/b"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert app.screen is not picker


async def test_help_title_does_not_repeat_the_keys_column(fake: type[FakeBackend]) -> None:
    from textual.widgets import DataTable

    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        await pilot.press("f1")
        title = str(app.screen.query_one("#help-title").render())
        headers = [str(column.label) for column in app.screen.query_one(DataTable).columns.values()]
        assert title not in headers
        assert "Keys" in headers
