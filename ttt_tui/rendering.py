"""Markdown to lines of segments for ``ReplyBody``: a settled block at once, a streaming code
block in chunks.

Segments, not ``Strip``s: a Strip keeps caches of everything derived from it while it lives, and
these lines are cached. Model text only ever goes through Rich's ``Markdown`` and ``Syntax``,
never Textual markup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar

from markdown_it.token import Token
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement, UnknownElement
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from textual.app import App

from ttt_tui.blocks import NEWLINE, PARSER, Block, References

CODE_CHUNK = 16  # lines of a code block still streaming that are rendered together

Line = list[Segment]
Refs = tuple[tuple[str, str, str], ...]  # (label, href, title) of the definitions a block may use


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
    pygments finds a lexer by name by scanning all of them, for every block."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _syntax(str(self.text).rstrip(), self.lexer_name, self.theme, (1, 1, 1, 1))


class _Spaced(MarkdownElement):
    """Renders nothing, but leaves Rich's Markdown owing a blank line before what comes next, as
    a paragraph (or most blocks) before it would."""


class _Markdown(Markdown):
    """Rich's ``Markdown`` for one block of a reply: it knows the reply's reference definitions,
    wherever they are, and whether the block before it left a blank line owing (``spaced``).
    Rich pays that line at the first thing it renders, unless an element inside closes before
    (a list's items, a quote's paragraphs), so only Rich itself can tell where it goes."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _CodeBlock,
        "code_block": _CodeBlock,
        "ttt_spaced": _Spaced,
    }

    def __init__(self, markup: str, references: Refs, code_theme: str, spaced: bool) -> None:
        """What Rich's ``__init__`` sets (checked by a test), but parsed by the one shared parser:
        Rich builds a parser per document, which costs as much as rendering a short paragraph."""
        env = {"references": {label: {"href": href, "title": title} for label, href, title in references}}
        self.markup = markup
        self.parsed = [Token("ttt_spaced", "", 0)] * spaced + PARSER.parse(markup, env)
        self.code_theme = self.inline_code_theme = code_theme
        self.justify, self.style, self.hyperlinks, self.inline_code_lexer = None, "none", False, None


def spaced_after(kind: str) -> bool:
    """Whether a top-level block of this kind leaves a blank line owing (all but a rule do)."""
    return _Markdown.elements.get(kind, UnknownElement).new_line


def references_for(block: str, references: References) -> Refs:
    """The definitions a block may use: those whose label's words all appear in it, folded as
    markdown-it folds labels. More than it uses costs a render; fewer would leave a link as text."""
    if not references or "[" not in block:
        return ()
    folded = block.lower().upper()
    return tuple(
        (label, href, title)
        for label, (href, title) in references.items()
        if all(word in folded for word in label.split())
    )


_syntax_theme = lru_cache(maxsize=8)(Syntax.get_theme)


def _syntax(code: str, lexer: str, theme: str, padding: tuple[int, int, int, int]) -> Syntax:
    """Code as Rich's Markdown shows it, with the cached lexer and theme."""
    return Syntax(code, _lexer(lexer), theme=_syntax_theme(theme), word_wrap=True, padding=padding)


@lru_cache(maxsize=128)
def render_markdown(
    source: str, references: Refs, spaced: bool, width: int, code_theme: str, style: Style, console: Console
) -> list[Line]:
    """Lines of one block as Rich renders it inside the whole reply, after a block that left a
    blank line owing or not (``spaced``). Cached for the blocks on screen; the rest are rendered
    again if scrolled back to, so memory (and the garbage collector's work) stays bounded."""
    if width <= 0:
        return []
    markdown = _Markdown(source, references, code_theme, spaced)
    return console.render_lines(markdown, console.options.update_width(width).reset_height(), style=style)


def render_live(
    source: str,
    lexer: str | None,
    references: Refs,
    spaced: bool,
    width: int,
    code_theme: str,
    style: Style,
    console: Console,
) -> list[Line]:
    """The unsettled end of a reply, rendered every frame. An open code fence (``lexer`` is its
    language) in chunks of ``CODE_CHUNK`` lines, all but the last cached, so a frame costs the
    same however long the block already is (highlighting a long block whole is slow). Where a
    chunk edge cuts a multi-line string its colours may be off until the fence closes and the
    block is rendered whole. Anything else is one block: rendered as it is."""
    if lexer is None or width <= 0:
        return render_markdown.__wrapped__(source, references, spaced, width, code_theme, style, console)
    lines = _open_code(source).split("\n")
    starts = range(0, len(lines), CODE_CHUNK)
    rendered = [[Segment(" " * width, style)]] if spaced else []
    for start in starts:
        last = start == starts[-1]
        render = _code_chunk.__wrapped__ if last else _code_chunk
        chunk = "\n".join(lines[start : start + CODE_CHUNK])
        rendered += render(chunk, lexer, start == 0, last, width, code_theme, style, console)
    return rendered


def _open_code(source: str) -> str:
    """The code so far of a fence that is still open, as markdown-it reads it: the lines after the
    opening one, less the opening line's indentation; trailing blank lines dropped, as Rich does."""
    header, *lines = NEWLINE.split(source)
    indent = len(header) - len(header.lstrip(" "))
    return "\n".join(line[min(indent, len(line) - len(line.lstrip(" "))) :] for line in lines).rstrip()


@lru_cache(maxsize=64)
def _code_chunk(
    code: str, lexer: str, top: bool, bottom: bool, width: int, theme: str, style: Style, console: Console
) -> list[Line]:
    """Lines of a run of code, padded like a whole code block only at the block's own edges."""
    syntax = _syntax(code, lexer, theme, (int(top), 1, int(bottom), 1))
    return console.render_lines(syntax, console.options.update_width(width).reset_height(), style=style)


class ReplyLines:
    """A reply's lines as Rich renders the whole reply, without rendering it whole: each settled
    block alone (cached, see ``render_markdown``), then the live tail. Only the height of each
    block is kept; its lines are rendered when asked for. Apart from the widget, so that it can
    be checked against Rich without an app."""

    def __init__(self, blocks: Sequence[Block] = (), references: References | None = None) -> None:
        self.blocks: list[Block] = []
        self.references: References = {}
        self.live, self.lexer = "", None
        self._args: tuple[int, str, Style, Console] | None = None  # width, theme, style, console
        self._refs: list[Refs] = []  # the definitions each block may use
        self._ends: list[int] = []  # the line after each block
        self._live: list[Line] = []
        self._live_spaced = False  # the tail was rendered after a block that left a blank line
        self.add(blocks, references or {})

    @property
    def height(self) -> int:
        return (self._ends[-1] if self._ends else 0) + len(self._live)

    def measure(self, width: int, code_theme: str, style: Style, console: Console) -> None:
        """Render everything again for a new width or theme (new line breaks, new colours); a new
        style alone (the message got focus) changes no height."""
        args, before = (width, code_theme, style, console), self._args
        if args != before:
            self._args = args
            if before is None or (width, code_theme, console) != (before[0], before[1], before[3]):
                self._ends = []
                self._place()
            self._render_live()

    def add(self, blocks: Sequence[Block], references: References) -> None:
        """Blocks that will not change again, and the definitions known so far: a block that may
        use one that is new is rendered again."""
        changed: list[int] = []
        if references != self.references:
            self.references = dict(references)
            refs = [references_for(block.text, self.references) for block in self.blocks]
            changed = [i for i, (new, old) in enumerate(zip(refs, self._refs, strict=True)) if new != old]
            self._refs = refs
        self.blocks += blocks
        self._refs += [references_for(block.text, self.references) for block in blocks]
        if self._args is not None:
            self._place(changed)

    def show_live(self, source: str, lexer: str | None) -> bool:
        """The unsettled tail; whether the height changed."""
        height = self.height
        self.live, self.lexer = source, lexer
        self._render_live()
        return self.height != height

    def line(self, y: int) -> Line | None:
        index = self.block_at(y)
        if index is not None:
            return self._lines(index)[y - self._start(index)]
        y -= self._ends[-1] if self._ends else 0
        return self._live[y] if 0 <= y < len(self._live) else None

    def block_at(self, y: int) -> int | None:
        index = bisect_right(self._ends, y)
        return index if index < len(self._ends) and y >= self._start(index) else None

    def _start(self, index: int) -> int:
        return self._ends[index - 1] if index else 0

    def _spaced(self, index: int) -> bool:
        """Whether the block before ``index`` (the tail, at the end) left a blank line owing."""
        return index > 0 and spaced_after(self.blocks[index - 1].kind)

    def _lines(self, index: int) -> list[Line]:
        assert self._args is not None
        block = self.blocks[index]
        return render_markdown(block.text, self._refs[index], self._spaced(index), *self._args)

    def _place(self, changed: Sequence[int] = ()) -> None:
        """Measure the new blocks and those in ``changed``; the others keep their heights."""
        first = min(changed, default=len(self._ends))
        sizes = [self._ends[i] - self._start(i) for i in range(first, len(self._ends))]
        del self._ends[first:]
        for index in range(first, len(self.blocks)):
            known = index - first < len(sizes) and index not in changed
            size = sizes[index - first] if known else len(self._lines(index))
            self._ends.append(self._start(index) + size)
        if self._spaced(len(self.blocks)) != self._live_spaced:
            self._render_live()

    def _render_live(self) -> None:
        if self._args is not None:
            refs = () if self.lexer is not None else references_for(self.live, self.references)
            self._live_spaced = self._spaced(len(self.blocks))
            self._live = render_live(self.live, self.lexer, refs, self._live_spaced, *self._args)
