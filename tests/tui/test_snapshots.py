"""Screenshots of the main states, compared with pytest-textual-snapshot (fixed size, no clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import FakeBackend, settle
from ttt.core.models import ModelInfo
from ttt.core.session.store import SessionRecord, Store, StoredMessage
from ttt.core.types import TextPart, ToolCall, ToolResult
from ttt_tui.app import TTTApp, create_app
from ttt_tui.screens.model_picker import ModelPicker
from ttt_tui.widgets.inspector import ToolInspector

SIZE = (120, 36)
TABLE_AND_CODE = """\
Here is the comparison you asked for:

| Backend | Protocol | Streams |
|---------|----------|---------|
| ollama  | /api/chat | yes |
| openai  | /v1/chat/completions | yes |

And the call itself:

```python
import ttt

print(ttt.ask("hello", model="ollama/llama3.2"))
```

Model text such as [b]this[/b] is never read as markup.
"""


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The welcome panel names the config file, under the home folder as ``~/...``: the same text
    on every run."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TTT_HOME", str(tmp_path / "ttt"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Callable[..., TTTApp]]:
    """``create_app`` over a fresh store, so no run sees another's conversations."""
    with Store(tmp_path / "sessions.db") as store:
        yield lambda **options: create_app(store=store, **options)


async def _send(pilot: Any, prompt: str) -> None:
    await pilot.press(*prompt, "enter")
    await settle(pilot.app)


def steady(run_before: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """No blinking cursor, so every run shows the same frame."""

    async def run(pilot: Any) -> None:
        pilot.app.composer.cursor_blink = False
        await run_before(pilot)
        await pilot.pause()

    return run


def test_welcome(snap_compare: Any, app: Callable[..., TTTApp]) -> None:
    welcome = app(settings={"llamacpp": {"binary": "/nonexistent/llama-server"}})
    assert snap_compare(welcome, terminal_size=SIZE, run_before=steady(lambda pilot: settle(pilot.app)))


def test_conversation_with_table_and_code(
    snap_compare: Any, fake: type[FakeBackend], app: Callable[..., TTTApp]
) -> None:
    fake.replies = [TABLE_AND_CODE]
    assert snap_compare(
        app(model="fake/x"), terminal_size=SIZE, run_before=steady(lambda p: _send(p, "compare"))
    )


def test_streaming_reply(snap_compare: Any, fake: type[FakeBackend], app: Callable[..., TTTApp]) -> None:
    fake.replies = [TABLE_AND_CODE]

    async def mid_stream(pilot: Any) -> None:
        app: TTTApp = pilot.app
        fake.hold = asyncio.Event()
        await pilot.press(*"compare", "enter")
        held = len(TABLE_AND_CODE.split(" ")) // 2 + 1  # words sent before the fake backend waits
        for _ in range(200):
            await asyncio.sleep(0.01)
            if app.turn is not None and app.turn.reply.tokens == held:
                break
        assert app.turn is not None and app._frame is not None
        app._frame.pause()
        app.turn.reply.flush()
        app.turn.stats.rate = 1850.0  # the measured rate varies; show a fixed one
        app.turn.status.show(app.turn.stats)
        await pilot.pause()

    assert snap_compare(app(model="fake/x"), terminal_size=SIZE, run_before=steady(mid_stream))


def test_model_picker(snap_compare: Any, app: Callable[..., TTTApp]) -> None:
    models = [
        ModelInfo(
            "ollama/llama3.2",
            "ollama",
            backend="local",
            available=True,
            context_length=131072,
            aliases=["local"],
        ),
        ModelInfo("ollama/qwen3:8b", "ollama", backend="local", available=True, context_length=40960),
        ModelInfo(
            "openai/gpt-4o-mini",
            "openai",
            backend="cloud",
            available=False,
            context_length=128000,
            aliases=["fast"],
        ),
        ModelInfo(
            "anthropic/claude-haiku-4-5", "anthropic", backend="cloud", available=False, context_length=200000
        ),
    ]

    async def open_picker(pilot: Any) -> None:
        pilot.app.push_screen(ModelPicker("ollama/llama3.2", models=models))
        await pilot.pause()

    assert snap_compare(app(model="ollama/llama3.2"), terminal_size=SIZE, run_before=steady(open_picker))


def test_tool_inspector(snap_compare: Any, fake: type[FakeBackend], app: Callable[..., TTTApp]) -> None:
    calls = [
        (
            ToolCall("c1", "read_file", {"path": "notes.md"}),
            "yes",
            ToolResult("c1", "read_file", "# Notes\n- ship it", duration=0.04),
        ),
        (ToolCall("c2", "run_shell", {"command": "rm -rf build"}), "no", None),
        (
            ToolCall("c3", "http_get", {"url": "https://example.com"}),
            "yes",
            ToolResult("c3", "http_get", "", error="connection refused", duration=1.25),
        ),
    ]

    async def show(pilot: Any) -> None:
        inspector = pilot.app.query_one(ToolInspector)
        inspector.display = True
        for call, answer, result in calls:
            card = inspector.add(call)
            await pilot.pause()
            card.set_decision(answer)
            if result is not None:
                card.set_result(result)
        await pilot.pause()

    assert snap_compare(app(model="fake/x"), terminal_size=SIZE, run_before=steady(show))


def test_error_state(snap_compare: Any, fake: type[FakeBackend], app: Callable[..., TTTApp]) -> None:
    fake.replies = ["Let me check the latest numbers for you — !The stream was cut off (connection reset)."]
    assert snap_compare(
        app(model="fake/x"), terminal_size=SIZE, run_before=steady(lambda p: _send(p, "hello there"))
    )


def test_branch_switcher(snap_compare: Any, fake: type[FakeBackend], app: Callable[..., TTTApp]) -> None:
    fake.replies = ["Tabs, for indentation.", "Spaces: four of them.", "They line up everywhere."]

    async def walk(pilot: Any) -> None:
        await _send(pilot, "tabs or spaces?")
        await pilot.press("ctrl+r")
        await settle(pilot.app)
        await pilot.press("alt+right", "alt+left", "alt+right")  # past the last: stays on 2/2
        await settle(pilot.app)
        await _send(pilot, "why?")

    assert snap_compare(app(model="fake/x"), terminal_size=SIZE, run_before=steady(walk))


def test_context_meter_and_marks(snap_compare: Any, fake: type[FakeBackend], tmp_path: Path) -> None:
    """A reopened session whose first turn is summarised and whose second no longer fits."""
    texts = [
        f"{role} {n}: " + "lorem ipsum dolor sit amet " * 4 for n in range(4) for role in ("asked", "said")
    ]
    messages = [
        StoredMessage(i + 1, "", ("user", "assistant")[i % 2], [TextPart(t)], i or None)  # type: ignore[arg-type]
        for i, t in enumerate(texts)
    ]
    params = {
        "summary": {"text": "The user asked about lorem ipsum; the model said it is filler.", "upto": 2}
    }
    settings = {"models": {"fake/x": {"context_length": 300}}, "routing": {"reply_tokens": 100}}
    with Store(tmp_path / "sessions.db") as store:
        store.insert_session(SessionRecord("ctx", "Context", "fake/x", params=params), messages)
        app = create_app(store=store, settings=settings)

        async def marked(pilot: Any) -> None:
            await settle(pilot.app)
            for _ in range(200):
                if pilot.app.transcript.query("ContextMark"):
                    break
                await asyncio.sleep(0.01)

        assert snap_compare(app, terminal_size=SIZE, run_before=steady(marked))
