"""Where file tools may go, which files need a yes first, and how they are opened without races.

A path is resolved (``..`` and symlinks included) and compared with the workspace root; then it
is opened from the root one component at a time with ``O_NOFOLLOW`` and ``dir_fd``, so a folder
swapped for a symlink between the check and the open makes the call fail instead of escaping.

Reads of secret-looking paths (SSH and cloud credentials, ``.env`` files, keys, keyrings, browser
profiles, shell histories, ttt's own config and data) and every call in a workspace that is a
home folder or ``/`` need the user's approval, even when the tool itself is allowed.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from pathlib import Path
from typing import Any

from ttt.core.config import ToolsConfig, paths
from ttt.core.errors import ToolExecutionError
from ttt.core.tools.context import use_tools_config, workspace_root

SECRET_FOLDERS = frozenset(
    {
        ".ssh",
        ".gnupg",
        ".aws",
        ".azure",
        ".kube",
        ".docker",
        ".gcloud",
        "gcloud",
        ".password-store",
        "keyrings",
        "keychains",
        ".mozilla",
        "firefox",
        ".thunderbird",
        "google-chrome",
        "chrome",
        "chromium",
        "bravesoftware",
        "microsoft-edge",
        "vivaldi",
    }
)
SECRET_FILES = (
    ".env*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    "*_history",
    ".histfile",
)
_PRIVATE_KEY = re.compile(r"id_[a-z0-9_]+")  # id_rsa, id_ed25519_sk; not id_rsa.pub
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def resolve_in_workspace(path: str) -> tuple[Path, Path]:
    """(resolved path, workspace root); raises when the path leaves the workspace."""
    root = workspace_root()
    if "\0" in path:
        raise ToolExecutionError("path contains a NUL byte")
    try:
        target = (root / path).resolve()  # an absolute ``path`` replaces ``root``, and is checked the same
    except OSError as exc:  # e.g. a link loop, or a link changing while it is read
        raise describe(exc, path) from None
    if not target.is_relative_to(root):
        raise ToolExecutionError(
            f"'{path}' is outside the workspace ({root}); only paths inside it can be used"
        )
    return target, root


def secret_name(name: str) -> bool:
    """Whether a file or folder name alone looks like it holds secrets."""
    lower = name.lower()
    return (
        lower in SECRET_FOLDERS
        or any(fnmatch.fnmatchcase(lower, pattern) for pattern in SECRET_FILES)
        or _PRIVATE_KEY.fullmatch(lower) is not None
    )


def secret_reason(target: Path) -> str | None:
    """Why ``target`` (resolved) looks secret, or None."""
    found = next((part for part in target.parts if secret_name(part)), None)
    if found:
        return f"'{found}' looks like it holds secrets"
    own = paths()
    for folder in (own.config_dir, own.data_dir):
        if target.is_relative_to(folder.expanduser().resolve()):
            return "it is ttt's own configuration or data (API keys, sessions)"
    return None


def broad_workspace(root: Path) -> bool:
    """A workspace that is ``/``, a home folder or a folder above one: too much to allow silently."""
    home = Path.home().resolve()
    return root == Path(root.anchor) or home.is_relative_to(root)


def workspace_label(config: ToolsConfig) -> tuple[str, Path]:
    """A short name for the workspace file tools use under ``config`` (its folder's name, or
    ``~`` / ``/`` saying every file asks), and its full path."""
    with use_tools_config(config):
        root = workspace_root()
    if not broad_workspace(root):
        return f"{root.name}/", root
    name = "~" if root == Path.home().resolve() else str(root)
    return f"{name} (every file asks)", root


def approval_reason(arguments: dict[str, Any]) -> str | None:
    """Why this file-tool call needs a yes even when the tool is allowed, or None."""
    try:
        target, root = resolve_in_workspace(str(arguments.get("path", ".")))
    except ToolExecutionError:
        return None  # the call fails and says why
    reason = secret_reason(target)
    if reason:
        return f"{arguments.get('path', '.')}: {reason}"
    if broad_workspace(root):
        return f"the workspace is {root}; set tools.workspace or start ttt in a project folder"
    return None


def open_folder(root: Path, target: Path, create: bool = False) -> int:
    """A file descriptor of folder ``target``, reached from ``root`` without following any link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in target.relative_to(root).parts:
            if create:
                try:
                    os.mkdir(name, dir_fd=fd)
                except FileExistsError:
                    pass
            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_file(root: Path, target: Path, flags: int, create_folders: bool = False) -> int:
    """A file descriptor of the regular file ``target``, opened like ``open_folder`` (never a
    link, never blocking on a FIFO or a device); raises OSError otherwise."""
    folder = open_folder(root, target.parent, create_folders)
    try:
        fd = os.open(target.name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644, dir_fd=folder)
    finally:
        os.close(folder)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL, "not a regular file")
    os.set_blocking(fd, True)
    return fd


def describe(error: OSError, path: str) -> ToolExecutionError:
    """A model-readable error for a failed open."""
    reasons = {
        errno.ENOENT: "does not exist",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "is not a directory",
        errno.ELOOP: "changed into a symbolic link while it was being opened",
        errno.ENXIO: "is not a regular file",
        errno.EINVAL: "is not a regular file",
    }
    reason = reasons.get(error.errno or 0, error.strerror or str(error))
    return ToolExecutionError(f"'{path}' {reason}")
