"""Markdown to lines of segments for ``ReplyBody``: a settled block at once, a streaming code
block in chunks.

Segments, not ``Strip``s: a Strip keeps caches of everything derived from it while it lives, and
these lines are cached. Model text only ever goes through Rich's ``Markdown`` and ``Syntax``,
never Textual markup.
"""

from __future__ import annotations

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

from ttt_tui.blocks import fence, is_fence

CODE_CHUNK = 16  # lines of a code block still streaming that are rendered together

Line = list[Segment]


def code_theme(app: App[object]) -> str:
    return "monokai" if app.current_theme.dark else "default"


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
        yield _syntax(str(self.text).rstrip(), self.lexer_name, self.theme, (1, 1, 1, 1))


class _Markdown(Markdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
    }


_syntax_theme = lru_cache(maxsize=8)(Syntax.get_theme)


def _syntax(code: str, lexer: str, theme: str, padding: tuple[int, int, int, int]) -> Syntax:
    """Code as Rich's Markdown shows it, with the cached lexer and theme."""
    return Syntax(code, _lexer(lexer), theme=_syntax_theme(theme), word_wrap=True, padding=padding)


@lru_cache(maxsize=128)
def render_markdown(source: str, width: int, code_theme: str, style: Style, console: Console) -> list[Line]:
    """Lines of one settled Markdown block. Cached for the blocks on screen; the rest are rendered
    again if scrolled back to, so memory (and the garbage collector's work) stays bounded."""
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


def render_live(source: str, width: int, code_theme: str, style: Style, console: Console) -> list[Line]:
    """The unsettled end of a reply, rendered every frame: an open code block in chunks of
    ``CODE_CHUNK`` lines, all but the last cached, so a frame costs the same however long the
    block already is (a 200-line block as a whole takes ~75 ms). Where a chunk edge cuts a
    multi-line string its colours may be off until the fence closes and the block is rendered
    whole. Anything else is short: rendered as it is."""
    if not is_fence(source):
        return render_markdown.__wrapped__(source, width, code_theme, style, console)
    header, _, code = source.lstrip("\n").partition("\n")
    lexer = header.strip().removeprefix(fence(header)).strip().partition(" ")[0] or "text"
    lines = code.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the newline that ended the last line
    starts = range(0, len(lines), CODE_CHUNK)
    rendered: list[Line] = []
    for start in starts:
        last = start == starts[-1]
        render = _code_chunk.__wrapped__ if last else _code_chunk
        chunk = "\n".join(lines[start : start + CODE_CHUNK])
        rendered += render(chunk, lexer, start == 0, last, width, code_theme, style, console)
    return rendered


@lru_cache(maxsize=64)
def _code_chunk(
    code: str, lexer: str, top: bool, bottom: bool, width: int, theme: str, style: Style, console: Console
) -> list[Line]:
    """Lines of a run of code, padded like a whole code block only at the block's own edges."""
    syntax = _syntax(code, lexer, theme, (int(top), 1, int(bottom), 1))
    return console.render_lines(syntax, console.options.update_width(width).reset_height(), style=style)
