"""The tool inspector through whole turns: auto-allowed calls, approvals answered, refused or cut short."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from ttt.core.tools.base import tool
from ttt_tui.app import TTTApp, create_app, offered_tools
from ttt_tui.screens.dialogs import ApprovalScreen
from ttt_tui.widgets.inspector import ToolCallCard, ToolInspector
from ttt_tui.widgets.message import AssistantMessage


@tool(permission="ask", register=False)
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def inspector_text(app: TTTApp) -> str:
    """What the terminal shows in the inspector's columns."""
    region = app.query_one(ToolInspector).region
    lines = [strip.text for strip in app.screen._compositor.render_strips()]
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def tool_lines(app: TTTApp) -> str:
    reply = app.transcript.latest(AssistantMessage)
    assert isinstance(reply, AssistantMessage) and reply._tools is not None
    return str(reply._tools.render())


async def wait_for_approval(app: TTTApp) -> ApprovalScreen:
    deadline = time.monotonic() + 10
    while not isinstance(app.screen, ApprovalScreen):
        assert time.monotonic() < deadline, "no approval asked"
        await asyncio.sleep(0.01)
    return app.screen


async def test_cards_of_auto_allowed_calls_show_their_result_and_no_buttons(ollama: OllamaServer) -> None:
    Path("notes.txt").write_text("ship it on friday\n")
    ollama.script.push(
        Reply(tool_calls=[("read_file", {"path": "notes.txt"}), ("calculate", {"expression": "2+3"})]),
        Reply(text="done."),
    )
    app = create_app(model=MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("ctrl+t", *"do it", "enter")
        await settle(app)
        await pilot.pause()
        cards = list(app.query(ToolCallCard))
        assert [(c.call.name, c.status) for c in cards] == [("read_file", "ok"), ("calculate", "ok")]
        shown = inspector_text(app)
        assert "✓ read_file  done" in shown and "✓ calculate  done" in shown
        assert "ship it on friday" in shown and "5" in shown
        assert "Approve" not in shown and "Deny" not in shown


async def test_a_waiting_card_shows_all_three_buttons_whole(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(tool_calls=[("add", {"a": 2, "b": 3})]), Reply(text="Five."))
    app = create_app(model=MODEL, tools=[add])
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"add", "enter")
        await wait_for_approval(app)
        await pilot.pause()
        (card,) = app.query(ToolCallCard)
        assert card.status == "waiting"
        buttons = {str(b.label): b for b in card.query("Button")}
        assert set(buttons) == {"Approve", "Deny", "Always"}
        for button in buttons.values():  # each label has room for all its letters
            assert button.content_region.width >= len(str(button.label)), button
            assert card.content_region.contains_region(button.region), button
        await pilot.press("y")
        await settle(app)
        assert card.status == "ok"


async def test_escape_in_the_approval_dialog_denies_and_the_turn_goes_on(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(tool_calls=[("add", {"a": 2, "b": 3})]), Reply(text="Declined, fine."))
    app = create_app(model=MODEL, tools=[add])
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"add", "enter")
        await wait_for_approval(app)
        await pilot.press("escape")
        await settle(app)
        (card,) = app.query(ToolCallCard)
        assert card.status == "denied"
        assert "waiting" not in tool_lines(app) and "add  denied" in tool_lines(app)
        assert app.transcript.latest(AssistantMessage).text == "Declined, fine."  # type: ignore[union-attr]


async def test_a_turn_stopped_while_a_call_waits_marks_the_call_not_run(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(tool_calls=[("add", {"a": 2, "b": 3})]))
    app = create_app(model=MODEL, tools=[add])
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"add", "enter")
        await wait_for_approval(app)
        app.action_cancel()  # the turn ends another way (a session switch, the app closing)
        await settle(app)
        assert not isinstance(app.screen, ApprovalScreen)
        (card,) = app.query(ToolCallCard)
        assert card.status == "stopped"
        assert "waiting" not in tool_lines(app) and "stopped before it ran" in tool_lines(app)
        assert "stopped before it ran" in inspector_text(app)
    again = create_app(model=MODEL, tools=[add])
    async with again.run_test(size=(140, 40)) as pilot:
        await pilot.press("ctrl+t")
        await pilot.pause()
        (card,) = again.query(ToolCallCard)
        assert card.status == "stopped"
        assert "stopped before it ran" in tool_lines(again)
