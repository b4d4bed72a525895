"""Find where streamed Markdown settles: text before that point is rendered once, never again.

Text is settled up to a blank line outside a code fence, or the end of a closing fence: nothing
after that point can change how the text before it parses (for the block kinds a model writes).
Each character is scanned once; only the unsettled tail is kept.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class BlockSplitter:
    """``feed`` returns the blocks that became settled (raw text); ``tail`` is the rest."""

    def __init__(self) -> None:
        self.tail = ""
        self._scanned = 0  # where the first unscanned line of ``tail`` starts
        self._fence = ""  # the opening fence while inside a code block
        self._content = False  # whether the current block has a non-blank line yet

    def feed(self, chunk: str) -> list[str]:
        self.tail += chunk
        cuts: list[int] = []
        while (end := self.tail.find("\n", self._scanned)) != -1:
            start, self._scanned = self._scanned, end + 1
            line = self.tail[start:end]
            if self._fence:
                if _closes(line, self._fence):
                    self._fence, self._content = "", False
                    cuts.append(end + 1)
            elif match := _FENCE.match(line):
                if self._content:
                    cuts.append(start)
                self._fence = match.group(1)
            elif line.strip():
                self._content = True
            elif self._content:
                self._content = False
                cuts.append(end + 1)
        if not cuts:
            return []
        blocks = [self.tail[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
        self.tail = self.tail[cuts[-1] :]
        self._scanned -= cuts[-1]
        return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def fence(block: str) -> str:
    """The fence (``` or ~~~, maybe longer) a block opens with, or ""."""
    match = _FENCE.match(block.lstrip("\n"))
    return match.group(1) if match else ""


def is_fence(block: str) -> bool:
    return bool(fence(block))


def code_of(block: str) -> str:
    """The code inside one fenced block."""
    lines = block.strip("\n").splitlines()
    closed = len(lines) > 1 and _closes(lines[-1], fence(block))
    return "\n".join(lines[1:-1] if closed else lines[1:])


def split_blocks(text: str) -> list[str]:
    """A whole message as blocks, cut the same way a stream would be."""
    splitter = BlockSplitter()
    blocks = splitter.feed(text)
    return [*blocks, splitter.tail] if splitter.tail.strip() else blocks
