"""The app recovers from failed turns: the transcript keeps drawing, regenerate asks the failed
prompt, and a failed prompt shows the same live and reopened while staying out of the context."""

from __future__ import annotations

import pytest

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from ttt_tui.app import TTTApp, create_app
from ttt_tui.widgets.message import AssistantMessage, MessageView, UserMessage


def failing() -> list[Reply]:
    """A turn that fails: HTTP 500 on the first try and both retries."""
    return [Reply(status=500, error_message="upstream exploded") for _ in range(3)]


def screen_text(app: TTTApp) -> str:
    """What the terminal shows now."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def shown(app: TTTApp) -> list[str]:
    return [view.text for view in app.transcript.query_children(MessageView)]


def sent(ollama: OllamaServer) -> list[str]:
    return [m["content"] for m in ollama.chat_requests[-1].body["messages"]]


async def test_turns_after_a_failed_turn_are_drawn_and_the_failed_one_stays_marked(
    ollama: OllamaServer,
) -> None:
    ollama.script.push("fine", *failing(), "after the failure", "third reply")
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.press(*"K1 ok", "enter")
        await settle(app)
        await pilot.press(*"K2 boom", "enter")
        await settle(app)
        assert app.composer.text == "K2 boom"  # given back to send again
        failed = app.transcript.latest(AssistantMessage)
        assert failed is not None and failed.has_class("-error")
        await pilot.press("enter")
        await settle(app)
        await pilot.pause()
        assert "after the failure" in screen_text(app)
        await pilot.press(*"K3", "enter")
        await settle(app)
        await pilot.pause()
        text = screen_text(app)
        assert "third reply" in text and "K3" in text
        assert shown(app) == [
            "K1 ok",
            "fine",
            "K2 boom",
            "",
            "K2 boom",
            "after the failure",
            "K3",
            "third reply",
        ]
        transcript = app.transcript
        assert transcript.scroll_y == transcript.max_scroll_y
        # the failed prompt went to the model once, and not again with the next turns
        assert sent(ollama) == ["K1 ok", "fine", "K2 boom", "after the failure", "K3"]
        live_mark = str(failed._mark.render())  # type: ignore[union-attr]
        live = shown(app)
    again = create_app(model=MODEL)
    async with again.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        assert shown(again) == live
        reopened = [v for v in again.transcript.query_children(AssistantMessage) if v.has_class("-error")]
        assert len(reopened) == 1 and str(reopened[0]._mark.render()) == live_mark  # type: ignore[union-attr]
        await pilot.press(*"K4", "enter")
        await settle(again)
        assert sent(ollama) == ["K1 ok", "fine", "K2 boom", "after the failure", "K3", "third reply", "K4"]


async def test_regenerate_after_a_failed_turn_asks_the_failed_prompt_once(ollama: OllamaServer) -> None:
    ollama.script.push("fine", *failing(), "answer to K2")
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"K1 ok", "enter")
        await settle(app)
        await pilot.press(*"K2 boom", "enter")
        await settle(app)
        await pilot.press("ctrl+r")
        await settle(app)
        await pilot.pause()
        assert sent(ollama) == ["K1 ok", "fine", "K2 boom"]
        assert shown(app) == ["K1 ok", "fine", "K2 boom", "answer to K2"]
        assert screen_text(app).count("answer to K2") == 1
        assert app.composer.text == ""  # the prompt given back was asked
        assert [m.text for m in app.controller.current.chat.messages] == shown(app)
    again = create_app(model=MODEL)
    async with again.run_test() as pilot:
        await pilot.pause()
        assert shown(again) == ["K1 ok", "fine", "K2 boom", "answer to K2"]


async def test_a_failed_turn_with_text_is_kept_in_the_context(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="one two three four five six", disconnect_after=3), "next")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"hi", "enter")
        await settle(app)
        await pilot.press(*"go on", "enter")
        await settle(app)
        assert sent(ollama) == ["hi", "one two three ", "go on"]
        assert shown(app)[-2:] == ["go on", "next"]
        assert [v.text for v in app.transcript.query_children(UserMessage)] == ["hi", "go on"]


@pytest.mark.parametrize("shape", ["paragraphs", "code"])
async def test_follows_the_bottom_through_resizes_while_streaming(ollama: OllamaServer, shape: str) -> None:
    paragraphs = [f"Paragraph {n} of a long reply." for n in range(80)]
    if shape == "code":
        code = "\n".join(f"line_{n} = {n}  # a line of code" for n in range(150))
        paragraphs[40:40] = [f"```python\n{code}\n```"]
    ollama.script.push(Reply(text="\n\n".join(paragraphs), tokens_per_second=400))
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"long", "enter")
        for size in ((70, 20), (120, 40), (90, 24)):
            for _ in range(100):
                await pilot.pause(0.02)
                reply = app.transcript.latest(AssistantMessage)
                if reply is not None and reply.tokens > 40 * len(size):
                    break
            await pilot.resize_terminal(*size)
            await pilot.pause(0.15)
            transcript = app.transcript
            assert transcript.is_anchored, size
            assert transcript.scroll_y == transcript.max_scroll_y, size
        await settle(app)
        await pilot.pause()
        transcript = app.transcript
        assert transcript.scroll_y == transcript.max_scroll_y
        assert "Paragraph 79 of a long reply." in screen_text(app)
