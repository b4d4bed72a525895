"""File tools confined to the workspace root (``tools.workspace`` or the current directory).

Paths are checked and opened by ``ttt.core.tools.workspace``: ``..`` and symlinks resolved before
the check, every component opened without following links, so neither ``../../etc/passwd``, nor
a link pointing outside, nor a folder swapped for a link mid-call gets through. Secret-looking
paths need approval first (the executor asks, see ``approval_reason``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import tool
from ttt.core.tools.workspace import (
    approval_reason,
    describe,
    open_file,
    open_folder,
    resolve_in_workspace,
    secret_name,
)

READ_CHUNK = 16_000  # bytes per read_file call; the rest is one call with ``offset`` away
MAX_WRITE_BYTES = 1_000_000
MAX_ENTRIES = 500


def _shown(target: Path, root: Path) -> str:
    return str(target.relative_to(root)) if target != root else "."


@tool(category="file", register=False)
def read_file(path: str, offset: int = 0) -> str:
    """Read a text file in the workspace.

    Args:
        path: File path, relative to the workspace root.
        offset: Byte offset to start from, to continue reading a long file.
    """
    target, root = resolve_in_workspace(path)
    try:
        fd = open_file(root, target, os.O_RDONLY)
    except OSError as exc:
        raise describe(exc, path) from None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(fd).st_size
        handle.seek(max(offset, 0))
        data = handle.read(READ_CHUNK)
    if b"\0" in data:
        raise ToolExecutionError(f"'{path}' is a binary file ({size} bytes)")
    text = data.decode("utf-8", errors="replace")
    end = max(offset, 0) + len(data)
    if end < size:
        text += f"\n[... {size - end} more bytes of {_shown(target, root)}; call read_file with offset={end}]"
    return text


@tool(category="file", permission="ask", register=False)
def write_file(path: str, content: str) -> str:
    """Write a text file in the workspace, replacing it if it exists; folders are created as needed.

    Args:
        path: File path, relative to the workspace root.
        content: The complete new text of the file.
    """
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE_BYTES:
        raise ToolExecutionError(f"content is {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
    target, root = resolve_in_workspace(path)
    try:
        fd = open_file(root, target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, create_folders=True)
    except OSError as exc:
        raise describe(exc, path) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return f"wrote {len(data)} bytes to {_shown(target, root)}"


@tool(category="file", register=False)
def list_directory(path: str = ".") -> str:
    """List a folder in the workspace: folders end with '/', files show their size.

    Args:
        path: Folder path, relative to the workspace root.
    """
    target, root = resolve_in_workspace(path)
    try:
        fd = open_folder(root, target)
    except OSError as exc:
        raise describe(exc, path) from None
    try:
        with os.scandir(fd) as scan:
            entries = sorted(scan, key=lambda e: (not e.is_dir(follow_symlinks=False), e.name.lower()))
        lines = [_entry(entry, fd) for entry in entries[:MAX_ENTRIES]]
    finally:
        os.close(fd)
    if len(entries) > MAX_ENTRIES:
        lines.append(f"[... {len(entries) - MAX_ENTRIES} more entries]")
    return "\n".join(lines) if lines else f"{_shown(target, root)} is empty"


def _entry(entry: os.DirEntry[str], folder: int) -> str:
    """One listing line; secret-looking names are marked, as reading them asks first."""
    mark = "  [looks secret: reading it asks first]" if secret_name(entry.name) else ""
    if entry.is_symlink():
        return f"{entry.name} -> {os.readlink(entry.name, dir_fd=folder)}{mark}"
    if entry.is_dir(follow_symlinks=False):
        return f"{entry.name}/{mark}"
    return f"{entry.name}  ({entry.stat(follow_symlinks=False).st_size} bytes){mark}"


for _file_tool in (read_file, write_file, list_directory):
    _file_tool.ask_if = approval_reason
