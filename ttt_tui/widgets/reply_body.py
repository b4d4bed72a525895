"""A reply's Markdown as one widget: settled blocks rendered once, the live tail every frame.

Textual's ``Markdown`` makes a widget per block, and every widget costs style and layout work on
every frame; at 2,000 tokens/s that alone outruns the frame budget, and it grows with the reply.
Here a reply is one widget: a settled block (see ``BlockSplitter``) is rendered once to learn
its height and again only while it is on screen, only the bounded live tail is rendered each
frame, and the widget's height is a sum kept as blocks arrive. So a frame costs the same however
long the reply is, and memory holds text, not rendered lines.
Model text only ever reaches the screen through Rich's ``Markdown``, never as Textual markup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from textual.app import App
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ttt_tui.blocks import is_fence

Line = list[Segment]


def code_theme(app: App[object]) -> str:
    return "monokai" if app.current_theme.dark else "default"


def code_of(block: str) -> str:
    """The code inside one fenced block."""
    lines = block.strip("\n").splitlines()
    return "\n".join(lines[1:-1] if len(lines) > 1 and is_fence(lines[-1]) else lines[1:])


@lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | str:
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return "text"


class _CodeBlock(CodeBlock):
    """Rich's code block with its lexer and theme looked up once per name, not once per block:
    pygments finds a lexer by name by scanning all of them (~5 ms a block here)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        theme = _syntax_theme(self.theme)
        yield Syntax(code, _lexer(self.lexer_name), theme=theme, word_wrap=True, padding=1)


class _Markdown(Markdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
    }


_syntax_theme = lru_cache(maxsize=8)(Syntax.get_theme)


@lru_cache(maxsize=128)
def render_markdown(source: str, width: int, code_theme: str, style: Style, console: Console) -> list[Line]:
    """Lines of one Markdown block. Cached for the blocks on screen; the rest are rendered again
    if scrolled back to, so memory (and the garbage collector's work) stays bounded. Segments,
    not ``Strip``s: a Strip keeps caches of everything derived from it while it lives."""
    text = source.strip("\n")
    if not text or width <= 0:
        return []
    markdown = _Markdown(text, code_theme=code_theme, hyperlinks=False)
    options = console.options.update_width(width).reset_height()
    lines = console.render_lines(markdown, options, style=style)
    blank = [_is_blank(line, style) for line in lines]
    if all(blank):
        return []
    first, last = blank.index(False), len(blank) - blank[::-1].index(False)
    return lines[first:last]  # blocks are spaced by one blank line, whatever Rich puts around them


def _is_blank(line: Line, style: Style) -> bool:
    """Only spaces on the widget's own background (a code block's padding has its own)."""
    return all(
        not text.strip() and (segment_style is None or segment_style.bgcolor == style.bgcolor)
        for text, segment_style, _ in line
    )


class ReplyBody(Widget):
    """``blocks`` are settled: rendered once to learn their height, then only while on screen.
    ``live`` is the unsettled tail, rendered again as it changes."""

    DEFAULT_CSS = "ReplyBody { height: auto; }"

    class CodeClicked(Message):
        """A code block was clicked: its message copies it."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    def __init__(self, blocks: Sequence[str] = ()) -> None:
        super().__init__()
        self.blocks = list(blocks)
        self.live = ""
        self._key: tuple[int, str] = (-1, "")  # (width, theme) the heights below are for
        self._starts: list[int] = []  # first line of each block (a blank line between blocks)
        self._ends: list[int] = []  # and the line after its last
        self._height = 0  # of the settled blocks
        self._live: list[Line] = []

    @property
    def code_blocks(self) -> list[str]:
        return [code_of(block) for block in self.blocks if is_fence(block)]

    def add(self, blocks: Sequence[str]) -> None:
        """Blocks that will not change again."""
        if not blocks:
            return
        self.blocks += blocks
        if self._key[0] >= 0:
            for block in blocks:
                self._append(block)
        self.refresh(layout=True)

    def show_live(self, source: str) -> None:
        """The unsettled tail; the screen is laid out again only if the height changed."""
        if source == self.live:
            return
        self.live = source
        if self._key[0] < 0:
            self.refresh(layout=True)
            return
        height = len(self._live)
        self._live = render_markdown.__wrapped__(source, *self._render_args())
        self.refresh(layout=len(self._live) != height)

    def _render_args(self) -> tuple[int, str, Style, Console]:
        return self._key[0], code_theme(self.app), self.visual_style.rich_style, self.app.console

    def _lines(self, block: str) -> list[Line]:
        return render_markdown(block, *self._render_args())

    def _append(self, block: str) -> None:
        lines = len(self._lines(block))
        start = self._height + 1 if lines and self._height else self._height
        self._starts.append(start)
        self._ends.append(start + lines)
        self._height = max(self._height, start + lines)

    def _layout(self, width: int) -> None:
        """Measure everything again for a new width or theme (new line breaks, new colours)."""
        key = (width, self.app.theme)
        if key != self._key:
            self._key, self._starts, self._ends, self._height = key, [], [], 0
            for block in self.blocks:
                self._append(block)
            self._live = render_markdown.__wrapped__(self.live, *self._render_args())

    def _gap(self) -> int:
        return 1 if self._height and self._live else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._layout(width)
        return self._height + self._gap() + len(self._live)

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        self._layout(width)
        index = self._block_at(y)
        if index is not None:
            return Strip(self._lines(self.blocks[index])[y - self._starts[index]], width)
        y -= self._height + self._gap()
        if 0 <= y < len(self._live):
            return Strip(self._live[y], width)
        return Strip.blank(width, self.visual_style.rich_style)

    def _block_at(self, y: int) -> int | None:
        index = bisect_right(self._starts, y) - 1
        return index if index >= 0 and y < self._ends[index] else None

    def on_click(self, event: Click) -> None:
        index = self._block_at(event.y)
        if index is not None and is_fence(self.blocks[index]):
            self.post_message(self.CodeClicked(code_of(self.blocks[index])))
