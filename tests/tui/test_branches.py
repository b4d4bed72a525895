"""Branches in the app: regenerate and edit add one beside the old, ``‹ n/m ›`` shows where a
message stands, keys and clicks walk them, the model is sent the branch on screen, and the
chosen branch is the one a reopened session shows."""

from __future__ import annotations

from tests.providers import OllamaServer
from tests.tui.conftest import MODEL, settle
from tests.tui.test_features import run_from_palette, wait_for
from ttt_tui.app import TTTApp, create_app
from ttt_tui.widgets.message import AssistantMessage, MessageView, RoleLine, UserMessage


def shown(app: TTTApp) -> list[str]:
    return [view.text for view in app.transcript.query_children(MessageView)]


def header(view: MessageView) -> str:
    return str(view.query_one(RoleLine).render())


def sent(ollama: OllamaServer) -> list[str]:
    return [m["content"] for m in ollama.chat_requests[-1].body["messages"]]


def reply(app: TTTApp) -> AssistantMessage:
    view = app.transcript.latest(AssistantMessage)
    assert isinstance(view, AssistantMessage)
    return view


async def test_regenerate_shows_two_of_two_and_switching_back_sends_the_first_branch(
    ollama: OllamaServer,
) -> None:
    ollama.script.push("first answer", "second answer", "after the first")
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"q", "enter")
        await settle(app)
        assert "‹" not in header(reply(app))
        await pilot.press("ctrl+r")
        await settle(app)
        assert shown(app) == ["q", "second answer"]
        assert header(reply(app)).endswith("‹ 2/2 ›")
        assert "‹" not in header(app.transcript.query_one(UserMessage))
        await pilot.press("alt+left")
        await settle(app)
        assert shown(app) == ["q", "first answer"]
        assert header(reply(app)).endswith("‹ 1/2 ›")
        await pilot.press("alt+left")  # the first already: nothing moves
        await settle(app)
        assert shown(app) == ["q", "first answer"]
        await pilot.press(*"go on", "enter")
        await settle(app)
        assert sent(ollama) == ["q", "first answer", "go on"]
        assert shown(app) == ["q", "first answer", "go on", "after the first"]
        session = app.controller.current.id
    again = create_app(model=MODEL)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.controller.current.id == session
        assert shown(again) == ["q", "first answer", "go on", "after the first"]
        first = again.transcript.query_children(AssistantMessage).first()
        assert header(first).endswith("‹ 1/2 ›")


async def test_clicking_the_arrows_walks_the_siblings_and_the_rest_follows(ollama: OllamaServer) -> None:
    ollama.script.push("first answer", "more on first", "second answer")
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"q", "enter")
        await settle(app)
        await pilot.press(*"more", "enter")
        await settle(app)
        list(app.transcript.query_children(UserMessage))[1].focus()
        await pilot.press("e")  # back to before "more": the last prompt on screen is "q"
        await pilot.press("ctrl+r")  # so the reply to "q" gets a sibling
        await settle(app)
        assert shown(app) == ["q", "second answer"]
        line = reply(app).query_one(RoleLine)
        await pilot.click(line, offset=(header(reply(app)).index("‹"), 0))
        await settle(app)
        assert shown(app) == ["q", "first answer", "more", "more on first"], "the newest leaf under it"
        first = app.transcript.query_children(AssistantMessage).first()
        assert header(first).endswith("‹ 1/2 ›")
        await pilot.click(first.query_one(RoleLine), offset=(header(first).index("›"), 0))
        await settle(app)
        assert shown(app) == ["q", "second answer"]


async def test_edit_and_resend_walks_between_the_prompts(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        for prompt in ("one", "two"):
            await pilot.press(*prompt, "enter")
            await settle(app)
        list(app.transcript.query_children(UserMessage))[1].focus()
        await pilot.press("e")
        await pilot.pause()
        assert shown(app) == ["one", "You said: one"] and app.composer.text == "two"
        await pilot.press("end", *"!", "enter")
        await settle(app)
        edited = list(app.transcript.query_children(UserMessage))[1]
        assert header(edited).endswith("‹ 2/2 ›")
        edited.focus()
        await pilot.press("alt+left")
        await settle(app)
        assert shown(app) == ["one", "You said: one", "two", "You said: two"]
        focused = app.focused
        assert isinstance(focused, UserMessage) and focused.text == "two", "the sibling keeps the focus"
        assert len(app.controller.list_sessions()) == 1


async def test_fork_copies_the_branch_shown_into_a_new_session(ollama: OllamaServer) -> None:
    ollama.script.push("first answer", "second answer")
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"q", "enter")
        await settle(app)
        await pilot.press("ctrl+r")
        await settle(app)
        original = app.controller.current.id
        await run_from_palette(app, pilot, "Fork session")
        await wait_for(lambda: app.controller.current.id != original)
        assert app.controller.current.title == "q (fork)"
        assert shown(app) == ["q", "second answer"]
        assert "‹" not in header(reply(app)), "a fork holds only the branch it copied"
        assert len(app.controller.store.messages(original)) == 3, "the original keeps both replies"
