"""Route reasons, built-in tools, attachments, the stats screen, config reload, rename, regenerate."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.providers import OllamaModel, OllamaServer, Reply
from tests.tui.conftest import MODEL, settle
from ttt.core import api
from ttt.core.config import paths
from ttt_tui.app import create_app, offered_tools
from ttt_tui.screens.attach import AttachScreen
from ttt_tui.screens.dialogs import ApprovalScreen, TextScreen
from ttt_tui.screens.stats import StatsScreen
from ttt_tui.widgets.attachments import AttachmentBar, AttachmentChip
from ttt_tui.widgets.inspector import ToolCallCard
from ttt_tui.widgets.status import StatusLine

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def wait_for(condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def status_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(StatusLine).render())


async def test_status_line_shows_why_the_model_was_chosen(ollama: OllamaServer) -> None:
    api.configure(aliases={"quick": MODEL})
    app = create_app(model="quick")
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press(*"hi", "enter")
        await settle(app)
        assert MODEL in status_text(app)
        assert "alias 'quick'" in status_text(app)


def test_the_app_offers_read_only_tools_and_write_file_asks() -> None:
    tools, problem = offered_tools()
    assert problem is None
    permissions = {t.name: t.permission for t in tools}
    assert {"get_current_time", "calculate", "read_file", "list_directory"} <= set(permissions)
    assert permissions["write_file"] == "ask"
    assert all(p == "allow" for name, p in permissions.items() if name != "write_file")
    assert offered_tools("nonexistent_tool")[1] is not None  # reported by the app, not raised


async def test_built_in_tools_run_and_write_file_waits_for_approval(ollama: OllamaServer) -> None:
    Path("notes.txt").write_text("ship it on friday\n")
    ollama.script.push(
        Reply(tool_calls=[("read_file", {"path": "notes.txt"})]),
        Reply(tool_calls=[("write_file", {"path": "out.txt", "content": "friday"})]),
        Reply(text="Read the notes and wrote out.txt."),
    )
    app = create_app(model=MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.press(*"do it", "enter")
        await wait_for(lambda: isinstance(app.screen, ApprovalScreen))
        assert app.screen.call.name == "write_file"  # type: ignore[attr-defined]
        assert not Path("out.txt").exists()
        await pilot.press("y")
        await settle(app)
        assert Path("out.txt").read_text() == "friday"
        cards = list(app.query(ToolCallCard))
        assert [(c.call.name, c.status) for c in cards] == [("read_file", "ok"), ("write_file", "ok")]
        assert "ship it on friday" in (cards[0].result.content if cards[0].result else "")
        offered = {t["function"]["name"] for t in ollama.chat_requests[0].body["tools"]}
        assert {"read_file", "write_file", "calculate"} <= offered


async def test_attachments_go_with_the_next_prompt(
    ollama: OllamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vision = OllamaModel("llava:latest", family="llama", capabilities=("completion", "vision"))
    monkeypatch.setattr(ollama, "models", [*ollama.models, vision])
    Path("notes.txt").write_text("the launch is on friday\n")
    Path("logo.png").write_bytes(PNG)
    app = create_app(model="ollama/llava")
    async with app.run_test(size=(120, 36)) as pilot:
        for name in ("notes.txt", "logo.png"):
            await pilot.press("ctrl+a")
            assert isinstance(app.screen, AttachScreen)
            await pilot.press(*name, "enter")
            await pilot.pause()
        bar = app.query_one(AttachmentBar)
        assert bar.display and [c.path for c in bar.query(AttachmentChip)] == ["notes.txt", "logo.png"]
        await pilot.press(*"when?", "enter")
        await settle(app)
        sent = ollama.chat_requests[-1].body["messages"][-1]
        assert sent["content"].startswith("when?")
        assert "[file: notes.txt]" in sent["content"] and "the launch is on friday" in sent["content"]
        assert len(sent["images"]) == 1
        assert not bar.display and bar.paths == []
        stored = app.controller.store.history(app.controller.current.id)[0]
        assert "the launch is on friday" in stored.text and stored.to_message().images


async def test_unusable_attachments_are_reported_not_attached(ollama: OllamaServer) -> None:
    Path("b.bin").write_bytes(b"\x00\x01\x02binary")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        for name in ("no.txt", "b.bin"):
            await pilot.press("ctrl+a", *name, "enter")
            await pilot.pause()
        messages = [n.message for n in app._notifications if n.title == "Can't attach"]
        assert len(messages) == 2 and "no such file" in messages[0] and "binary" in messages[1]
        assert app.query_one(AttachmentBar).paths == []


async def test_attach_picker_tree_chooses_a_file(ollama: OllamaServer) -> None:
    Path("picked.md").write_text("# hi\n")
    app = create_app(model=MODEL)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+a")
        screen = app.screen
        assert isinstance(screen, AttachScreen)
        await pilot.pause(0.3)  # the tree loads its folder in a worker
        screen.query_one("#attach-tree").focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.query_one(AttachmentBar).paths == [str(Path.cwd() / "picked.md")]


async def test_stats_screen_shows_the_metrics(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press(*"count me", "enter")
        await settle(app)
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        await wait_for(lambda: screen.summary is not None)
        await pilot.pause()
        models = screen.query_one("#stats-models")
        assert models.row_count == 1  # type: ignore[attr-defined]
        assert str(models.get_row_at(0)[0]) == MODEL  # type: ignore[attr-defined]
        await pilot.press("1")  # the last hour
        await wait_for(lambda: screen.span == "1" and screen.summary is not None)
        await pilot.press("escape")
        assert not isinstance(app.screen, StatsScreen)


async def test_config_changes_apply_while_running_and_broken_files_are_ignored(ollama: OllamaServer) -> None:
    config = paths().user_config
    config.parent.mkdir(parents=True, exist_ok=True)
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        config.write_text('[tui]\ntheme = "nord"\n\n[tui.keymap]\n"composer.send" = "ctrl+s"\n')
        app.check_config()
        await pilot.pause()
        assert app.theme == "nord" and app.keymap == {"composer.send": "ctrl+s"}
        config.write_text('[tui]\ntheme = "gruvbox"\nthis is not toml\n')
        app.check_config()
        await pilot.pause()
        assert app.theme == "nord" and api.get_config().tui.theme == "nord"
        assert any(n.severity == "error" for n in app._notifications)
        config.write_text('[tui]\ntheme = "gruvbox"\n')
        await wait_for(lambda: app.theme == "gruvbox", 5)  # picked up by the once-a-second poll
        assert app.keymap == {}


async def test_rename_dialog_preselects_the_title(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"old title", "enter")
        await settle(app)
        await app.run_action("rename_session")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        field = app.screen.query_one("#text-value")
        assert field.selected_text == "old title"  # type: ignore[attr-defined]
        await pilot.press(*"new", "enter")
        assert app.controller.current.title == "new"
        assert app.controller.store.get_session(app.controller.current.id).title == "new"  # type: ignore[union-attr]


async def test_regenerate_after_a_stop_branches_in_the_store(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="word " * 400, tokens_per_second=40), "a full answer")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"q", "enter")
        await wait_for(lambda: app.turn is not None and app.turn.reply.tokens > 3)
        await pilot.press("escape")
        await settle(app)
        await pilot.press("ctrl+r")
        await settle(app)
        store, session_id = app.controller.store, app.controller.current.id
        branch = store.history(session_id)
        assert [(m.role, m.text, m.status) for m in branch] == [
            ("user", "q", "complete"),
            ("assistant", "a full answer", "complete"),
        ]
        stored = store.messages(session_id)
        assert [(m.role, m.parent_id) for m in stored] == [  # the stopped reply is kept beside the new one
            ("user", None),
            ("assistant", stored[0].id),
            ("assistant", stored[0].id),
        ]
        assert stored[1].status == "stopped"
        sent = [m["content"] for m in ollama.chat_requests[-1].body["messages"]]
        assert sent == ["q"]


async def run_from_palette(app, pilot, command: str) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+P, type the command's name, Enter on the first hit: as a user would."""
    from textual.command import CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await wait_for(lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*command)
    await wait_for(lambda: app.screen.query_one(CommandList).option_count > 0)
    await pilot.pause(0.1)
    await pilot.press("enter")
    await pilot.pause()


async def test_system_prompt_from_the_palette_goes_with_every_later_prompt(ollama: OllamaServer) -> None:
    ollama.script.push("Hello.", "Brief.", "Still brief.")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"hi", "enter")
        await settle(app)
        await run_from_palette(app, pilot, "Set system prompt")
        await wait_for(lambda: isinstance(app.screen, TextScreen))
        await pilot.press(*"Be terse.", "ctrl+s")
        await pilot.press(*"next", "enter")
        await settle(app)
    assert ollama.chat_requests[-1].body["messages"][0] == {"role": "system", "content": "Be terse."}
    again = create_app(model=MODEL)  # the session keeps it across restarts
    async with again.run_test() as pilot:
        await pilot.press(*"more", "enter")
        await settle(again)
    assert ollama.chat_requests[-1].body["messages"][0] == {"role": "system", "content": "Be terse."}


async def test_export_writes_markdown_and_json_here_and_reports_a_failed_write(ollama: OllamaServer) -> None:
    import json

    ollama.script.push("Paris.")
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"capital of France", "enter")
        await settle(app)
        await run_from_palette(app, pilot, "Export session as Markdown")
        markdown = Path("ttt-capital-of-france.md")
        await wait_for(markdown.exists)
        assert "capital of France" in markdown.read_text() and "Paris." in markdown.read_text()
        await run_from_palette(app, pilot, "Export session as JSON")
        exported = Path("ttt-capital-of-france.json")
        await wait_for(exported.exists)
        texts = [m["parts"][0]["text"] for m in json.loads(exported.read_text())["messages"]]
        assert texts == ["capital of France", "Paris."]
        markdown.unlink()
        markdown.mkdir()  # now the file can't be written
        await run_from_palette(app, pilot, "Export session as Markdown")
        await wait_for(lambda: any(n.title == "Export failed" for n in app._notifications))
        assert app.is_running


async def test_a_streaming_reply_leaves_you_where_you_scrolled_up_to(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text=" ".join(f"word{n}" for n in range(800)), tokens_per_second=400))
    app = create_app(model=MODEL)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"long", "enter")
        transcript = app.transcript
        await wait_for(lambda: transcript.max_scroll_y > 5)
        transcript.focus()
        await pilot.press("pageup")  # reading something above while the reply goes on
        await settle(app)
        assert transcript.scroll_y < transcript.max_scroll_y and not transcript.is_anchored
        await pilot.press("end")
        await pilot.pause()
        assert transcript.scroll_y == transcript.max_scroll_y
