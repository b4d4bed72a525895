"""A reply's Markdown as one widget: settled blocks rendered once, the live tail every frame.

Textual's ``Markdown`` makes a widget per block, and every widget costs style and layout work on
every frame; at 2,000 tokens/s that alone outruns the frame budget, and it grows with the reply.
Here a reply is one widget: a settled block (see ``BlockSplitter``) is rendered once to learn
its height and again only while it is on screen, only the live tail is rendered each frame (an
open code block in chunks), and the widget's height is a sum kept as blocks arrive (see
``ReplyLines``). So a frame costs the same however long the reply is, and memory holds text, not
rendered lines.
Model text only ever reaches the screen through Rich's ``Markdown``, never as Textual markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ttt_tui.blocks import Block, References
from ttt_tui.rendering import ReplyLines, code_theme


class ReplyBody(Widget):
    """``blocks`` are settled: rendered once to learn their height, then only while on screen.
    ``live`` is the unsettled tail, rendered again as it changes."""

    DEFAULT_CSS = "ReplyBody { height: auto; }"

    class CodeClicked(Message):
        """A code block was clicked: its message copies it."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    def __init__(self, blocks: Sequence[Block] = (), references: References | None = None) -> None:
        super().__init__()
        self.lines = ReplyLines(blocks, references)
        self._measured = False

    @property
    def blocks(self) -> list[Block]:
        return self.lines.blocks

    @property
    def live(self) -> str:
        return self.lines.live

    @property
    def code_blocks(self) -> list[str]:
        return [block.code for block in self.blocks if block.is_code]

    def add(self, blocks: Sequence[Block], references: References) -> None:
        """Blocks that will not change again, and the reference definitions known so far."""
        if blocks or references != self.lines.references:
            self.lines.add(blocks, references)
            self.refresh(layout=True)

    def show_live(self, source: str, lexer: str | None = None) -> None:
        """The unsettled tail; the screen is laid out again only if the height changed."""
        if (source, lexer) != (self.lines.live, self.lines.lexer):
            self.refresh(layout=self.lines.show_live(source, lexer) or not self._measured)

    def _layout(self, width: int) -> None:
        self.lines.measure(width, code_theme(self.app), self.visual_style.rich_style, self.app.console)
        self._measured = True

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._layout(width)
        return self.lines.height

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        self._layout(width)
        line = self.lines.line(y)
        return Strip.blank(width, self.visual_style.rich_style) if line is None else Strip(line, width)

    def on_click(self, event: Click) -> None:
        index = self.lines.block_at(event.y)
        if index is not None and self.blocks[index].is_code:
            self.post_message(self.CodeClicked(self.blocks[index].code))
