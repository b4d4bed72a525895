"""Shared fixtures: a real SQLite file per test, and sample messages using every part type."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ttt.core.session.store import Store
from ttt.core.types import ImagePart, Message, TextPart, ThinkingPart, ToolCall, ToolResult


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def every_part_messages() -> list[Message]:
    """A small conversation exercising each part type, including awkward values."""
    return [
        Message.system("Be terse."),
        Message.user(
            "Plot the data ✓ «quoted» `code`",
            [ImagePart("image/png", data="aGVsbG8=", sha256=hashlib.sha256(b"hello").hexdigest())],
        ),
        Message(
            "assistant",
            [
                ThinkingPart("I should call a tool."),
                TextPart("Reading the file."),
                ToolCall("call_1", "read_file", {"path": "a.txt", "n": [1, 2.5, None]}, '{"path": "a.txt"}'),
            ],
        ),
        Message(
            "tool", [ToolResult("call_1", "read_file", "```\nline\n```", None, 0.125, {"path": "a.txt"})]
        ),
        Message("tool", [ToolResult("call_2", "http", "timed out", "TimeoutError", 30.0)]),
        Message("assistant", [TextPart("Done.\n\nAll good."), ImagePart("image/jpeg", path="/tmp/x.jpg")]),
    ]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ttt.db"


@pytest.fixture
def store(db_path: Path):
    with Store(db_path) as s:
        yield s
