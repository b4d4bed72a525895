"""The core flow through the real engine and ollama client against the local Ollama server."""

from __future__ import annotations

import asyncio

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from ttt.core import api
from ttt_tui.app import create_app
from ttt_tui.widgets.composer import Composer
from ttt_tui.widgets.message import AssistantMessage, UserMessage
from ttt_tui.widgets.status import StatusLine
from ttt_tui.widgets.welcome import Welcome


async def test_send_streams_markdown_reply(ollama: OllamaServer) -> None:
    ollama.script.push(
        Reply(text="# Title\n\nSome **bold** [b]not markup[/b]\n\n```py\nx = 1\n```\n", usage=(11, 7))
    )
    app = create_app(model=MODEL)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*"hello", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage)
        assert reply.text.startswith("# Title")
        assert reply._body.code_blocks == ["x = 1"]
        assert app.composer.text == ""
        assert app.stats[app.controller.current.id].input_tokens == 11
        assert ollama.chat_requests[-1].body["messages"][-1]["content"] == "hello"
        assert [m.role for m in app.controller.current.chat.messages] == ["user", "assistant"]


async def test_enter_sends_shift_enter_and_ctrl_j_insert_newlines(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press("a", "shift+enter", "b", "ctrl+j", "c")
        assert app.composer.text == "a\nb\nc"
        await pilot.press("enter")
        await settle(app)
        assert app.transcript.latest(UserMessage).text == "a\nb\nc"  # type: ignore[union-attr]


async def test_up_and_down_walk_prompt_history_on_empty_composer(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        for prompt in ("first", "second"):
            await pilot.press(*prompt, "enter")
            await settle(app)
        await pilot.press("up")
        assert app.composer.text == "second"
        await pilot.press("up")
        assert app.composer.text == "first"
        await pilot.press("down")
        assert app.composer.text == "second"
        await pilot.press("down")
        assert app.composer.text == ""
        await pilot.press("x", "up")  # not empty: the cursor moves, history stays put
        assert app.composer.text == "x"


async def test_escape_cancels_and_keeps_partial_reply(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="word " * 400, tokens_per_second=40))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"long", "enter")
        for _ in range(200):
            await asyncio.sleep(0.02)
            reply = app.transcript.latest(AssistantMessage)
            if reply is not None and reply.tokens > 3:
                break
        await pilot.press("escape")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage)
        assert "stopped" in str(reply._mark.render())
        assert 0 < len(reply.text) < len("word " * 400)
        assert app.controller.current.chat.messages[-1].text == reply.text
        assert app.turn is None


async def test_backend_error_notifies_marks_and_gives_prompt_back(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(status=404, error_message="model 'nope' not found"))
    app = create_app(model="ollama/nope")
    async with app.run_test() as pilot:
        await pilot.press(*"keep me", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert reply is not None and reply.has_class("-error")
        assert app.composer.text == "keep me"
        assert any(n.severity == "error" for n in app._notifications)
        assert app.controller.current.chat.messages == []


async def test_dropped_stream_keeps_received_text(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="one two three four five six", disconnect_after=3))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"hi", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert reply is not None and reply.has_class("-error")
        assert reply.text.startswith("one two")
        assert app.controller.current.chat.messages[-1].text == reply.text


async def test_regenerate_asks_the_last_prompt_again(ollama: OllamaServer) -> None:
    ollama.script.push("first answer", "second answer")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"q", "enter")
        await settle(app)
        await pilot.press("ctrl+r")
        await settle(app)
        replies = list(app.transcript.query(AssistantMessage))
        assert [r.text for r in replies] == ["second answer"]
        assert len(app.controller.current.chat.messages) == 2


NO_LOCAL_MODEL = {"llamacpp": {"binary": "/nonexistent/llama-server"}}


async def test_welcome_explains_how_to_connect_when_nothing_answers() -> None:
    app = create_app(settings=NO_LOCAL_MODEL)
    async with app.run_test() as pilot:
        await settle(app)
        welcome = app.query_one(Welcome)
        assert welcome.problem and "No model is available" in welcome.problem
        assert (
            welcome.offline
            == "not usable: llamacpp.binary: '/nonexistent/llama-server' was not found or is not executable."
        )
        await pilot.press(*"hello", "enter")
        await settle(app)
        assert app.composer.text == "hello"
        assert app.transcript.latest(AssistantMessage).has_class("-error")  # type: ignore[union-attr]


async def test_status_line_names_the_model_that_will_answer_before_the_first_prompt(
    ollama: OllamaServer,
) -> None:
    app = create_app(settings=NO_LOCAL_MODEL)  # no model configured: routing picks one
    async with app.run_test():
        await settle(app)
        for _ in range(200):
            if app.stats[app.controller.current.id].backend:
                break
            await asyncio.sleep(0.02)
        status = str(app.query_one(StatusLine).render())
        assert "ollama/llama3.2" in status and "local" in status, status
        assert "no model chosen" not in status


async def test_copy_message_and_code_block(ollama: OllamaServer) -> None:
    ollama.script.push("Code:\n\n```python\nprint('hi')\n```\n")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"code", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert reply is not None
        reply.focus()
        await pilot.press("k")
        assert app.clipboard == "print('hi')"
        await pilot.press("c")
        assert app.clipboard.startswith("Code:")


async def test_keymap_from_config_remaps_bindings(ollama: OllamaServer) -> None:
    api.configure(tui={"keymap": {"composer.send": "ctrl+s"}})
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press("h", "i", "enter")
        assert app.composer.text.startswith("hi")
        await pilot.press("ctrl+s")
        await settle(app)
        assert app.transcript.latest(UserMessage) is not None


async def test_composer_has_focus_at_start(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test():
        assert isinstance(app.focused, Composer)


async def test_a_fresh_session_follows_a_long_reply_to_the_bottom(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="\n\n".join(f"Paragraph {n} of a long reply." for n in range(60))))
    app = create_app(model=MODEL)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.transcript.query(Welcome)
        await pilot.press(*"long", "enter")
        await settle(app)
        await pilot.pause()
        transcript = app.transcript
        assert transcript.max_scroll_y > 0
        assert transcript.scroll_y == transcript.max_scroll_y
        assert transcript.is_anchored


async def test_stop_shows_in_the_footer_only_while_a_reply_streams(ollama: OllamaServer) -> None:
    from textual.widgets._footer import FooterKey

    def footer_actions() -> set[str]:
        return {key.action for key in app.query(FooterKey)}

    ollama.script.push(Reply(text="word " * 600, tokens_per_second=20))  # 30 s: still streaming below
    app = create_app(model=MODEL)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert "cancel" not in footer_actions()
        await pilot.press(*"hi", "enter")
        for _ in range(200):
            await pilot.pause(0.02)
            if "cancel" in footer_actions():
                break
        assert app.turn is not None and "cancel" in footer_actions()
        await pilot.press("escape")  # the turn ends (stopped): Stop must leave the footer
        await settle(app)
        await pilot.pause()
        assert app.turn is None
        assert "cancel" not in footer_actions()


async def test_welcome_with_connect_help_fits_a_36_row_terminal() -> None:
    app = create_app(settings=NO_LOCAL_MODEL)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app)
        await pilot.pause()
        welcome = app.query_one(Welcome)
        assert welcome.problem
        assert app.transcript.max_scroll_y == 0
        assert welcome.region.bottom <= app.transcript.region.bottom


async def test_an_unknown_keymap_id_is_reported_with_the_real_one(ollama: OllamaServer) -> None:
    api.configure(tui={"keymap": {"send": "ctrl+s", "composer.newline": "ctrl+j"}})
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.pause()
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert len(warnings) == 1, warnings
        assert '"send"' in warnings[0] and 'Did you mean "composer.send"' in warnings[0]


async def test_the_keymap_line_of_the_example_config_works_as_documented(ollama: OllamaServer) -> None:
    from tests.conftest import REPO
    from ttt.core.config import paths

    example = (REPO / "ttt.toml.example").read_text(encoding="utf-8")
    line = next(x for x in example.splitlines() if x.startswith('# "composer.send"'))
    config = paths().user_config
    config.parent.mkdir(parents=True)
    config.write_text(f"[tui.keymap]\n{line.removeprefix('# ')}\n", encoding="utf-8")
    api.reset()
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press("h", "i", "ctrl+s")
        await settle(app)
        assert app.transcript.latest(UserMessage) is not None
        assert not [n for n in app._notifications if n.severity == "warning"]
