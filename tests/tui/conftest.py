"""TUI fixtures: the app against the local Ollama server, and a fake backend for layout snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import ClassVar

import pytest
from rich.console import Console
from rich.markdown import Markdown

from ttt.core.backends.base import Backend, BackendStatus, BaseBackend
from ttt.core.errors import ProviderError
from ttt.core.models import ModelInfo
from ttt.core.types import ChatRequest, Finish, StreamEvent, TextDelta, ToolCall, ToolCallReady, Usage
from ttt_tui.app import TTTApp, create_app

MODEL = "ollama/llama3.2"


class FakeBackend(BaseBackend):
    """Layout tests only: replies from ``FakeBackend.replies`` (text, "text!error", or tool calls)."""

    name = "fake"
    replies: ClassVar[list[str | list[ToolCall]]] = []
    hold: ClassVar[asyncio.Event | None] = None  # when set, streaming pauses until it is set

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        reply = self.replies.pop(0) if self.replies else "ok"
        if isinstance(reply, str) and "!" in reply:  # "partial text!error": the stream breaks off
            partial, _, error = reply.partition("!")
            yield TextDelta(partial)
            raise ProviderError(error, backend="fake")
        if isinstance(reply, list):
            for call in reply:
                yield ToolCallReady(call)
            yield Finish("tool_calls")
            return
        words = reply.split(" ")
        for number, word in enumerate(words):
            yield TextDelta(word if number == len(words) - 1 else word + " ")
            if self.hold is not None and number == len(words) // 2:
                await self.hold.wait()
        yield Usage(120, len(words))
        yield Finish()

    async def models(self) -> list[ModelInfo]:
        return [ModelInfo("fake/x", "fake", backend="fake", available=True, context_length=32000)]

    async def status(self) -> BackendStatus:
        return BackendStatus("fake", True)


@pytest.fixture
def fake() -> type[FakeBackend]:
    Backend.register(FakeBackend, "fake")
    FakeBackend.replies = []
    FakeBackend.hold = None
    return FakeBackend


@pytest.fixture
def make_app() -> Callable[..., TTTApp]:
    return create_app


def rich_text(text: str, width: int) -> list[str]:
    """The lines of Rich's own rendering of a whole Markdown text, as a reply's body should show it."""
    console = Console(width=width)
    lines = console.render_lines(Markdown(text, hyperlinks=False), console.options.update_width(width))
    return ["".join(segment.text for segment in line).rstrip() for line in lines]


async def settle(app: TTTApp) -> None:
    """Wait until the turn (and any other worker) is over and the screen caught up."""
    for _ in range(400):
        if app.turn is None and not any(w.is_running for w in app.workers):
            break
        await asyncio.sleep(0.01)
    await app.workers.wait_for_complete()
    await asyncio.sleep(0.05)
