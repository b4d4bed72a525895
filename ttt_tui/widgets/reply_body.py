"""A reply's Markdown as one widget: settled blocks rendered once, the live tail every frame.

Textual's ``Markdown`` makes a widget per block, and every widget costs style and layout work on
every frame; at 2,000 tokens/s that alone outruns the frame budget, and it grows with the reply.
Here a reply is one widget: a settled block (see ``BlockSplitter``) is rendered once to learn
its height and again only while it is on screen, only the live tail is rendered each frame (an
open code block in chunks, see ``render_live``), and the widget's height is a sum kept as blocks
arrive. So a frame costs the same however
long the reply is, and memory holds text, not rendered lines.
Model text only ever reaches the screen through Rich's ``Markdown``, never as Textual markup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from rich.console import Console
from rich.style import Style
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ttt_tui.blocks import code_of, is_fence
from ttt_tui.rendering import Line, code_theme, render_live, render_markdown


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
        self._live = render_live(source, *self._render_args())
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
        self._height = start + lines

    def _layout(self, width: int) -> None:
        """Measure everything again for a new width or theme (new line breaks, new colours)."""
        key = (width, self.app.theme)
        if key != self._key:
            self._key, self._starts, self._ends, self._height = key, [], [], 0
            for block in self.blocks:
                self._append(block)
            self._live = render_live(self.live, *self._render_args())

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
