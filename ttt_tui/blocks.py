"""Find where streamed Markdown settles: text before that point is rendered once, never again.

The reply is cut into top-level blocks by markdown-it, the parser Rich's ``Markdown`` uses
(configured the same way), at the line ranges of its top-level tokens (``token.map``), so a block
rendered alone shows what it shows inside the whole reply. Only the last block can still change
(a paragraph becomes a heading, a list grows an item), unless it is a code fence already closed;
each parse starts at that last block and reads whole lines only, so a half-arrived line never
settles anything. Reference definitions (``[1]: url``) apply to the whole reply, wherever they
are: they are collected here and handed to every block that might use them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

PARSER = MarkdownIt().enable("strikethrough").enable("table")  # as rich.markdown.Markdown makes it

NEWLINE = re.compile(r"\r\n?|\n")  # line ends as markdown-it counts them

References = dict[str, tuple[str, str]]  # normalised label -> (href, title); the first one wins


@dataclass(frozen=True)
class Block:
    """One top-level block: its source lines (with the blank lines and definitions after it), the
    type of its opening token, and for a code block its code."""

    text: str
    kind: str
    code: str = ""

    @property
    def is_code(self) -> bool:
        return self.kind in ("fence", "code_block")


class BlockSplitter:
    """``feed`` returns the blocks that became settled; ``tail`` is the unsettled rest, and
    ``lexer`` the language of the code fence it is inside (None if it is not in one)."""

    def __init__(self) -> None:
        self.tail = ""
        self.lexer: str | None = None
        self.references: References = {}  # every definition seen so far, settled or in the tail
        self._settled: References = {}  # those in text already settled
        self._parsed = 0  # how much of ``tail`` (whole lines) the last parse read

    def feed(self, chunk: str) -> list[Block]:
        self.tail += chunk
        end = _whole_lines(self.tail)
        if end <= self._parsed:
            return []
        self._parsed = end
        return self._split(self.tail[:end], last_settles=False)

    def close(self) -> list[Block]:
        """The reply ended: everything left is settled."""
        blocks = self._split(self.tail, last_settles=True) if self.tail.strip() else []
        self.tail, self._parsed, self.lexer = "", 0, None
        return blocks

    def _split(self, text: str, *, last_settles: bool) -> list[Block]:
        env: dict[str, Any] = {}
        tokens = PARSER.parse(text, env)
        starts = [0, *(match.end() for match in NEWLINE.finditer(text))]  # where each line starts
        tops = [t for t in tokens if t.level == 0 and t.nesting >= 0 and t.map is not None]
        ends = [starts[_lines(t)[0]] for t in tops[1:]]  # where each block ends: the next begins
        if last_settles:
            ends.append(len(text))
        elif tops and _closed_fence(tops[-1]):
            ends.append(starts[_lines(tops[-1])[1]])
        blocks = [_block(text[a:b], top) for a, b, top in zip([0, *ends], ends, tops, strict=False)]
        done = ends[-1] if ends else 0
        if len(tops) > len(ends):  # the tail starts with the open block (blank lines and
            done = starts[_lines(tops[-1])[0]]  # definitions before a first block render nothing)
        self._collect(env.get("references", {}), bisect_left(starts, done))
        self.tail, self._parsed = self.tail[done:], self._parsed - done
        last = tops[len(ends) :]
        self.lexer = _lexer(last[0]) if last and last[0].type == "fence" else None
        return blocks

    def _collect(self, found: dict[str, dict[str, Any]], settled_lines: int) -> None:
        """Definitions in the lines now settled are kept; those in the tail may yet change."""
        for label, ref in found.items():
            if ref["map"][0] < settled_lines:
                self._settled.setdefault(label, (ref["href"], ref["title"]))
        self.references = dict(self._settled)
        for label, ref in found.items():
            self.references.setdefault(label, (ref["href"], ref["title"]))


def _whole_lines(text: str) -> int:
    """Where the last whole line of ``text`` ends (a final "\\r" may yet be half of "\\r\\n")."""
    return max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1


def _block(text: str, token: Token) -> Block:
    code = token.content.removesuffix("\n") if token.type in ("fence", "code_block") else ""
    return Block(text, token.type, code)


def _lines(token: Token) -> tuple[int, int]:
    assert token.map is not None
    return token.map[0], token.map[1]


def _lexer(token: Token) -> str:
    """A fence's language, read as Rich's ``CodeBlock`` reads it."""
    return token.info.partition(" ")[0] or "text"


def _closed_fence(token: Token) -> bool:
    """A fence whose closing line has arrived: nothing after it can change it. Its code is
    every line but the first and the last; an open fence's runs to the end."""
    start, end = _lines(token)
    return token.type == "fence" and token.content.count("\n") == end - start - 2


def split_blocks(text: str) -> tuple[list[Block], References]:
    """A whole message as blocks, cut the same way a stream is, and its reference definitions."""
    splitter = BlockSplitter()
    blocks = splitter.feed(text)
    blocks += splitter.close()
    return blocks, splitter.references
