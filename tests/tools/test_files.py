"""File tools stay inside the workspace: traversal, absolute paths and symlinks are refused."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from ttt.core.config import ToolsConfig
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import Tool
from ttt.core.tools.builtins import list_directory, read_file, write_file
from ttt.core.tools.context import use_tools_config
from ttt.core.tools.files import READ_CHUNK

from .conftest import call


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    return secret


async def test_write_read_and_list(config: ToolsConfig, workspace: Path) -> None:
    assert await call(write_file, config, path="notes/todo.txt", content="héllo\n") == (
        "wrote 7 bytes to notes/todo.txt"
    )
    assert (workspace / "notes" / "todo.txt").read_text() == "héllo\n"
    assert await call(read_file, config, path="notes/todo.txt") == "héllo\n"
    assert (
        await call(read_file, config, path=str(workspace / "notes" / "todo.txt")) == "héllo\n"
    )  # absolute inside
    (workspace / "b.bin").write_bytes(b"12345")
    assert await call(list_directory, config) == "notes/\nb.bin  (5 bytes)"
    assert await call(list_directory, config, path="notes") == "todo.txt  (7 bytes)"
    (workspace / "empty").mkdir()
    assert await call(list_directory, config, path="empty") == "empty is empty"


async def test_default_workspace_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.txt").write_text("here")
    assert await call(read_file, ToolsConfig(), path="here.txt") == "here"


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "../secret.txt", "notes/../../secret.txt", "/etc/passwd"]
)
async def test_traversal_and_absolute_paths_are_refused(
    config: ToolsConfig, outside: Path, path: str
) -> None:
    (Path(config.workspace) / "notes").mkdir()
    for tool, arguments in ((read_file, {}), (write_file, {"content": "pwned"}), (list_directory, {})):
        with pytest.raises(ToolExecutionError, match="outside the workspace"):
            await call(tool, config, path=path, **arguments)
    assert outside.read_text() == "top secret"


async def test_symlink_escapes_are_refused(config: ToolsConfig, workspace: Path, outside: Path) -> None:
    (workspace / "link.txt").symlink_to(outside)
    (workspace / "door").symlink_to(outside.parent, target_is_directory=True)
    (workspace / "dangling").symlink_to(outside.parent / "new.txt")
    attempts = [
        (read_file, {"path": "link.txt"}),
        (read_file, {"path": "door/secret.txt"}),
        (write_file, {"path": "link.txt", "content": "pwned"}),
        (write_file, {"path": "door/new.txt", "content": "pwned"}),
        (write_file, {"path": "dangling", "content": "pwned"}),
        (list_directory, {"path": "door"}),
    ]
    for tool, arguments in attempts:
        with pytest.raises(ToolExecutionError, match="outside the workspace"):
            await call(tool, config, **arguments)
    assert outside.read_text() == "top secret" and not (outside.parent / "new.txt").exists()
    # a link that stays inside is fine, and listing shows where links point
    (workspace / "real.txt").write_text("inside")
    (workspace / "alias.txt").symlink_to(workspace / "real.txt")
    assert await call(read_file, config, path="alias.txt") == "inside"
    assert f"link.txt -> {outside}" in await call(list_directory, config)


async def test_long_files_are_read_in_chunks(config: ToolsConfig, workspace: Path) -> None:
    (workspace / "long.txt").write_text("a" * READ_CHUNK + "b" * 10)
    first = await call(read_file, config, path="long.txt")
    assert first.startswith("a" * READ_CHUNK) and f"call read_file with offset={READ_CHUNK}" in first
    assert "10 more bytes" in first
    assert await call(read_file, config, path="long.txt", offset=READ_CHUNK) == "b" * 10


async def test_read_errors(config: ToolsConfig, workspace: Path) -> None:
    (workspace / "image.png").write_bytes(b"\x89PNG\0\0\0")
    (workspace / "folder").mkdir()
    cases = [("image.png", "binary file"), ("folder", "is a directory"), ("missing.txt", "does not exist")]
    for path, message in cases:
        with pytest.raises(ToolExecutionError, match=message):
            await call(read_file, config, path=path)
    with pytest.raises(ToolExecutionError, match="is a directory"):
        await call(write_file, config, path="folder", content="x")
    with pytest.raises(ToolExecutionError, match="the limit is"):
        await call(write_file, config, path="big.txt", content="x" * 2_000_000)


@pytest.mark.parametrize("tool", [write_file, read_file, list_directory], ids=lambda t: t.name)
def test_a_folder_swapped_for_a_symlink_never_lets_a_call_out(
    config: ToolsConfig, workspace: Path, tmp_path: Path, tool: Tool
) -> None:
    """A real race: one thread keeps swapping ``sub`` between a folder inside and a link to a
    folder outside while the tool keeps using ``sub/...``; nothing may ever happen outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret")
    (outside / "only-outside.txt").write_text("")
    inside = workspace / "inside"
    inside.mkdir()
    (inside / "secret.txt").write_text("inside")
    link = workspace / "link"
    link.symlink_to(outside, target_is_directory=True)
    sub = workspace / "sub"
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            for name in (inside, link):
                try:
                    os.rename(name, sub)
                except OSError:  # write_file made a "sub" folder of its own while there was none
                    shutil.rmtree(sub, ignore_errors=True)
                    continue
                os.rename(sub, name)

    arguments = {
        "write_file": {"path": "sub/new.txt", "content": "x"},
        "read_file": {"path": "sub/secret.txt"},
    }
    swapper = threading.Thread(target=swap)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the widest race
    swapper.start()
    results: set[str] = set()
    try:
        with use_tools_config(config):
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    results.add(tool(**arguments.get(tool.name, {"path": "sub"})))
                except (ToolExecutionError, OSError):  # refused, or "sub" was missing just then
                    pass
    finally:
        stop.set()
        swapper.join()
        sys.setswitchinterval(previous)
    assert sorted(p.name for p in outside.iterdir()) == ["only-outside.txt", "secret.txt"], "a write got out"
    assert (outside / "secret.txt").read_text() == "outside secret"
    assert not any("outside secret" in r or "only-outside" in r for r in results), "a read got out"
    assert results, "no call succeeded at all: the race never let one through"


async def test_a_fifo_is_refused_at_once_never_waited_on(config: ToolsConfig, workspace: Path) -> None:
    from ttt.core.tools.executor import ToolExecutor
    from ttt.core.types import ToolCall

    fifo = workspace / "pipe"
    os.mkfifo(fifo)
    fast = ToolsConfig(workspace=config.workspace, timeout=2, permissions={"write_file": "allow"})
    tools = ToolExecutor([read_file, write_file], fast)
    try:
        for name, arguments in (("write_file", {"content": "x"}), ("read_file", {})):
            result = await tools.run(ToolCall("c1", name, {"path": "pipe", **arguments}))
            assert result.error == "'pipe' is not a regular file", result.error
    finally:  # on a build that blocked in open(), a reader lets that thread finish
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
