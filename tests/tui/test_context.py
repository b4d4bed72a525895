"""The context meter in the status line, the transcript's mark where the model's view starts, and
Compact from the palette, through the real engine against the local Ollama server."""

from __future__ import annotations

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from tests.tui.test_features import status_text, wait_for
from ttt.core.config import paths
from ttt.core.session.compact import SUMMARY_HEADING
from ttt.core.session.store import Store
from ttt_tui.app import TTTApp, create_app
from ttt_tui.widgets.message import UserMessage
from ttt_tui.widgets.transcript import ContextMark

LONG = "x" * 1600  # ~400 tokens; its echoed reply as much again
SMALL_WINDOW = {"models": {MODEL: {"context_length": 1200}}, "routing": {"reply_tokens": 200}}


async def send(app: TTTApp, pilot: object, prompt: str) -> None:
    app.composer.load_text(prompt)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(app)


def mark(app: TTTApp) -> tuple[str, int | None]:
    """What the context mark says and the stored id of the prompt right below it."""
    (found,) = app.transcript.query_children(ContextMark)
    children = list(app.transcript.children)
    below = children[children.index(found) + 1]
    assert isinstance(below, UserMessage)
    return str(found.render()), below.index


async def test_the_meter_follows_turns_and_model_switches(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test(size=(140, 36)) as pilot:
        await settle(app)
        assert "0/131k ctx" in status_text(app)  # a new session: nothing to send yet
        await send(app, pilot, "x" * 4000)
        await wait_for(lambda: "2k/131k ctx" in status_text(app))  # prompt and echoed reply
        app.set_model("ollama/llava")  # a 4,096-token window
        await wait_for(lambda: "2k/4k ctx" in status_text(app))
        app.set_model("ollama/mistral")  # not in the registry: its window is unknown
        await wait_for(lambda: "2k ctx (window unknown)" in status_text(app))
        assert not app.transcript.query_children(ContextMark)


async def test_older_turns_left_out_are_marked_where_the_model_view_starts(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL, settings=SMALL_WINDOW)
    async with app.run_test(size=(140, 36)) as pilot:
        await send(app, pilot, "first " + LONG)
        assert not app.transcript.query_children(ContextMark)
        await send(app, pilot, "second " + LONG)
        sent = ollama.chat_requests[-1].body["messages"]
        assert [m["content"][:6] for m in sent] == ["second"], "the first turn did not fit"
        await wait_for(lambda: bool(app.transcript.query_children(ContextMark)))
        text, below = mark(app)
        assert text == "⋯ 2 earlier messages left out to fit ollama/llama3.2's 1,200-token window"
        prompts = list(app.transcript.query_children(UserMessage))
        assert below == prompts[-1].index  # the mark sits above what the next turn still sends
        assert "/1k ctx" in status_text(app)

    again = create_app(model=MODEL, settings=SMALL_WINDOW)  # reopened: the same mark
    async with again.run_test(size=(140, 36)):
        await wait_for(lambda: bool(again.transcript.query_children(ContextMark)))
        assert mark(again)[1] == below


async def test_compact_from_the_palette_keeps_a_summary_the_next_turn_uses(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL, settings=SMALL_WINDOW)
    async with app.run_test(size=(140, 36)) as pilot:
        for word in ("first", "second"):
            await send(app, pilot, f"{word} {LONG}")
        ollama.script.push("The user sent \x1b[2Ja long first line.")
        await app.run_action("compact")
        await settle(app)
        await wait_for(
            lambda: "summarised" in str(app.transcript.query_children(ContextMark).first().render())
        )
        text, below = mark(app)
        assert text == (
            "⋯ 2 earlier messages summarised; the model sees this summary:\nThe user sent a long first line."
        )
        assert len(list(app.transcript.query_children(UserMessage))) == 2, "the turns stay on screen"
        await send(app, pilot, "third")
        system = ollama.chat_requests[-1].body["messages"][0]
        assert system["role"] == "system"
        assert system["content"] == f"{SUMMARY_HEADING}\nThe user sent \x1b[2Ja long first line."
        session_id = app.controller.current.id
    with Store(paths().database) as store:  # stored: the summary ends before the prompt kept
        record = store.get_session(session_id)
        assert record is not None and below is not None
        assert record.params["summary"]["upto"] == below - 1


async def test_a_failed_compact_loses_nothing(ollama: OllamaServer) -> None:
    settings = {**SMALL_WINDOW, "backends": {"local": {"retries": 0}}}
    app = create_app(model=MODEL, settings=settings)
    async with app.run_test(size=(140, 36)) as pilot:
        for word in ("first", "second"):
            await send(app, pilot, f"{word} short")
        ollama.script.push(Reply(status=500, error_message="overloaded"))
        await app.run_action("compact")
        await settle(app)
        assert any(n.severity == "error" and "overloaded" in n.message for n in app._notifications)
        assert not app.transcript.query_children(ContextMark)
        assert len(list(app.transcript.query_children(UserMessage))) == 2
        await send(app, pilot, "third")
        assert len(ollama.chat_requests[-1].body["messages"]) == 5, "every turn is still sent"
