"""File tools confined to the workspace root (``tools.workspace`` or the current directory).

Every path is resolved first — ``..`` and symlinks included — and only then compared with the
root, so neither ``../../etc/passwd`` nor a link pointing outside gets through.
"""

from __future__ import annotations

import os
from pathlib import Path

from ttt.core.errors import ToolExecutionError
from ttt.core.tools.base import tool
from ttt.core.tools.context import workspace_root

READ_CHUNK = 16_000  # bytes per read_file call; the rest is one call with ``offset`` away
MAX_WRITE_BYTES = 1_000_000
MAX_ENTRIES = 500


def resolve_in_workspace(path: str) -> tuple[Path, Path]:
    """(resolved path, workspace root); raises when the path leaves the workspace."""
    root = workspace_root()
    if "\0" in path:
        raise ToolExecutionError("path contains a NUL byte")
    target = (root / path).resolve()  # an absolute ``path`` replaces ``root`` here, and is checked the same
    if not target.is_relative_to(root):
        raise ToolExecutionError(
            f"'{path}' is outside the workspace ({root}); only paths inside it can be used"
        )
    return target, root


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
    if target.is_dir():
        raise ToolExecutionError(f"'{path}' is a directory; use list_directory")
    if not target.exists():
        raise ToolExecutionError(f"'{path}' does not exist")
    if not target.is_file():
        raise ToolExecutionError(f"'{path}' is not a regular file")
    size = target.stat().st_size
    with target.open("rb") as handle:
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
    if target.is_dir():
        raise ToolExecutionError(f"'{path}' is a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a symlink planted after the check above is refused, not followed.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
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
    if not target.is_dir():
        raise ToolExecutionError(f"'{path}' is not a directory")
    entries = sorted(target.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower()))
    lines = []
    for entry in entries[:MAX_ENTRIES]:
        if entry.is_symlink():
            lines.append(f"{entry.name} -> {os.readlink(entry)}")
        elif entry.is_dir():
            lines.append(f"{entry.name}/")
        else:
            lines.append(f"{entry.name}  ({entry.stat().st_size} bytes)")
    if len(entries) > MAX_ENTRIES:
        lines.append(f"[... {len(entries) - MAX_ENTRIES} more entries]")
    return "\n".join(lines) if lines else f"{_shown(target, root)} is empty"
