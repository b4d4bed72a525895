"""Files attached to a prompt: images become ``ImagePart``s, text files a block in the prompt.

The kind is decided by content, not by name: PNG, JPEG, GIF and WebP by their magic bytes; a NUL
byte means binary; anything else is text, read as UTF-8 with invalid bytes replaced (U+FFFD), as
a Latin-1 file still says most of what it says. Limits come from the config's
``[attachments]``; anything unusable is an ``InvalidRequestError`` naming the file.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import BinaryIO

from ttt.core.config_sections import AttachmentsConfig
from ttt.core.errors import InvalidRequestError
from ttt.core.types import ImagePart, Message

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


def image_type(head: bytes) -> str | None:
    """The media type of a supported image, from its first bytes; None for anything else."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def open_regular_file(path: str | PathLike[str]) -> BinaryIO:
    """Open a regular file for reading; a FIFO, device or folder is refused at once instead of
    blocking or streaming forever (opened with O_NONBLOCK, then checked with fstat)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file")
        raise OSError(errno.EINVAL, "not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def image_base64(image: ImagePart) -> str:
    """The image's base64 data, reading ``path`` when only a path was stored (a stored session
    keeps a reference and a hash, not a copy). The file is read only when there is a hash to
    check it against, and sent only when it matches; a file gone or changed is a clear error."""
    if image.data:
        return image.data
    if not image.sha256:
        raise InvalidRequestError(
            f"The image {image.path} in this conversation has no hash to check the file against, "
            "so it is not read; attach it again."
        )
    try:
        with open_regular_file(Path(image.path).expanduser()) as handle:
            data = handle.read()
    except OSError as exc:
        raise InvalidRequestError(
            f"The image {image.path} attached earlier in this conversation can't be read "
            f"({exc.strerror or exc}); put it back, or start a new session."
        ) from None
    if hashlib.sha256(data).hexdigest() != image.sha256:
        raise InvalidRequestError(
            f"The image {image.path} has changed since it was attached to this conversation; "
            "put the original back, or start a new session."
        )
    return base64.b64encode(data).decode("ascii")


@dataclass
class Attachments:
    """Loaded attachments: images to send as parts, text files to add to the prompt."""

    images: list[ImagePart] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (name as given, content)

    def prompt(self, prompt: str) -> str:
        """``prompt`` followed by each text file, delimited and named."""
        blocks = [
            f"[file: {name}]\n{content.rstrip()}\n[end of file: {name}]" for name, content in self.texts
        ]
        return "\n\n".join([prompt, *blocks]) if blocks else prompt


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{count / 1000:.0f} KB" if count >= 1000 else f"{count} bytes"


def load_file(path: str | PathLike[str], limits: AttachmentsConfig, into: Attachments) -> None:
    """Read one attachment into ``into``; raises InvalidRequestError naming the file."""
    name = str(path)
    file = Path(path).expanduser()
    try:
        with open_regular_file(file) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(16)
            kind = image_type(head)
            limit = limits.max_image_bytes if kind else limits.max_text_bytes
            if size > limit:
                what = "image" if kind else "text file"
                raise InvalidRequestError(
                    f"Attachment {name} is {_size(size)}; the {what} limit is {_size(limit)} "
                    f"(attachments.max_{'image' if kind else 'text'}_bytes)."
                )
            data = head + handle.read()
    except FileNotFoundError:
        raise InvalidRequestError(f"Attachment {name}: no such file.") from None
    except IsADirectoryError:
        raise InvalidRequestError(f"Attachment {name}: is a folder, not a file.") from None
    except OSError as exc:
        raise InvalidRequestError(f"Attachment {name} can't be read: {exc.strerror or exc}.") from None
    if kind:
        into.images.append(
            ImagePart(
                media_type=kind,
                data=base64.b64encode(data).decode("ascii"),
                path=str(file.resolve()),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
        return
    if b"\0" in data:
        raise InvalidRequestError(
            f"Attachment {name} is a binary file; attach text files or PNG, JPEG, GIF or WebP images."
        )
    into.texts.append((name, data.decode("utf-8", errors="replace")))


def load(paths: Sequence[str | PathLike[str]], limits: AttachmentsConfig) -> Attachments:
    """Every attachment, in order."""
    loaded = Attachments()
    for path in paths:
        load_file(path, limits, loaded)
    return loaded


def user_message(prompt: str, paths: Sequence[str | PathLike[str]], limits: AttachmentsConfig) -> Message:
    """The user message for ``prompt`` with its attachments (for the API, CLI, sessions, TUI)."""
    loaded = load(paths, limits)
    return Message.user(loaded.prompt(prompt), loaded.images)
