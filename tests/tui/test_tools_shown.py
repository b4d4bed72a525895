"""The app says which tools are on and where the file tools work, and warns about a home workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.providers import OllamaServer
from tests.tui.conftest import MODEL
from ttt_tui.app import create_app, offered_tools


def shown(app: object) -> str:
    return str(app.query_one(".inspector-tools", Static).render())  # type: ignore[attr-defined]


async def test_the_inspector_names_the_tools_and_the_workspace(ollama: OllamaServer) -> None:
    app = create_app(model=MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("ctrl+t")
        text = shown(app)
        assert "calculate" in text and "read_file" in text and "write_file" in text
        assert f"Workspace: {Path.cwd().name}/" in text
        assert not any(n.title == "Tools" for n in app._notifications)


async def test_starting_in_the_home_folder_says_every_file_asks(
    ollama: OllamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(Path.cwd()))
    app = create_app(model=MODEL, tools=offered_tools()[0])
    async with app.run_test(size=(140, 30)):
        assert "Workspace: ~ (every file asks)" in shown(app)
        notes = [n.message for n in app._notifications if n.title == "Tools"]
        assert notes and "file tools ask before every file" in notes[0]
