"""What a reply shows is Rich's rendering of its whole text, however it arrives.

Over a corpus of Markdown (``markdown_corpus.txt``: replies as models write them, nested lists
with code, quotes with fences, tables, HTML blocks, setext headings, reference links, CommonMark
spec examples) cut into random chunks: the lines on screen while it streams (at each point the
text so far ends a line), once it ended, and when the stored reply is opened again equal
``rich.markdown.Markdown`` rendering the same text whole, text and styles.
"""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment
from rich.style import Style

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, FakeBackend, rich_text, settle
from ttt_tui.app import create_app
from ttt_tui.blocks import BlockSplitter, split_blocks
from ttt_tui.rendering import Line, ReplyLines, render_markdown
from ttt_tui.widgets.message import AssistantMessage
from ttt_tui.widgets.reply_body import ReplyBody

WIDTH = 60
STYLE = Style(color="#e0e0e0", bgcolor="#101010")
CONSOLE = Console(width=WIDTH, color_system="truecolor", force_terminal=True)
Runs = list[tuple[str, Style | None]]

# The four shapes that rendered apart from the whole text when each piece was its own document.
SHAPES = (
    "1. First item\n\n   Its second paragraph.\n\n2. Second item\n\n"
    "- item\n\n      indented code in the item\n\n- next\n\n"
    "1. Step:\n\n   ```python\n   print('hi')\n   ```\n\n2. Done\n\n"
    "See [the docs][1] for more.\n\n[1]: https://example.com/docs\n"
)


def corpus() -> list[tuple[str, str]]:
    """(name, text) of each document, and some again with CRLF line ends or no final newline."""
    text = (Path(__file__).parent / "markdown_corpus.txt").read_text(encoding="utf-8")
    names, texts = re.findall(r"^%%%% (.*)$", text, re.M), re.split(r"^%%%% .*\n", text, flags=re.M)[1:]
    docs = list(zip(names, texts, strict=True))
    crlf = [(f"{name} (CRLF)", doc.replace("\n", "\r\n")) for name, doc in docs[::5]]
    return docs + crlf + [(f"{name} (no final newline)", doc.rstrip("\n")) for name, doc in docs[2::5]]


def runs(line: Line) -> Runs:
    return [(text, style) for text, style, _ in Segment.simplify(line)]


def rich_lines(text: str, theme: str) -> list[Runs]:
    markdown = Markdown(text, code_theme=theme, hyperlinks=False)
    lines = CONSOLE.render_lines(markdown, CONSOLE.options.update_width(WIDTH), style=STYLE)
    return [runs(line) for line in lines]


def shown(lines: ReplyLines) -> list[Runs]:
    rendered = [lines.line(y) for y in range(lines.height)]
    assert None not in rendered
    return [runs(line) for line in rendered if line is not None]


def plain(lines: list[Runs]) -> list[str]:
    return ["".join(text for text, _ in line) for line in lines]


@pytest.mark.parametrize(("name", "text"), corpus(), ids=[name for name, _ in corpus()])
def test_any_chunking_shows_what_rich_shows_for_the_whole_text(name: str, text: str) -> None:
    theme = "monokai" if len(name) % 2 else "default"
    whole = rich_lines(text, theme)
    reopened = ReplyLines(*split_blocks(text))
    reopened.measure(WIDTH, theme, STYLE, CONSOLE)
    assert shown(reopened) == whole
    for seed in range(4):
        rng, splitter, lines, at = random.Random(seed), BlockSplitter(), ReplyLines(), 0
        lines.measure(WIDTH, theme, STYLE, CONSOLE)
        while at < len(text):
            size = rng.choice((1, 2, 3, 5, 8, 13, 40))
            lines.add(splitter.feed(text[at : at + size]), splitter.references)
            lines.show_live(splitter.tail, splitter.lexer)
            at += size
            if seed == 0 and text[:at].endswith("\n"):  # a whole line more: the tail is no guess
                assert shown(lines) == rich_lines(text[:at], theme), repr(text[:at])
        lines.show_live("", None)
        lines.add(splitter.close(), splitter.references)
        assert shown(lines) == whole


def test_a_code_block_streaming_in_chunks_shows_the_whole_blocks_text() -> None:
    """Where a chunk edge cuts a multi-line string only the colours may differ while it streams."""
    code = "".join(f'x{i} = """a string\nover lines"""\n' for i in range(12))
    text = f"```python\n{code}"
    splitter, lines = BlockSplitter(), ReplyLines()
    lines.measure(WIDTH, "monokai", STYLE, CONSOLE)
    lines.add(splitter.feed(text), splitter.references)
    lines.show_live(splitter.tail, splitter.lexer)
    assert plain(shown(lines)) == plain(rich_lines(text, "monokai"))
    lines.add(splitter.feed("```\n"), splitter.references)
    lines.show_live(splitter.tail, splitter.lexer)
    assert shown(lines) == rich_lines(text + "```\n", "monokai")  # closed: rendered whole


def test_a_block_is_rendered_again_when_a_definition_it_may_use_arrives() -> None:
    splitter, lines = BlockSplitter(), ReplyLines()
    lines.measure(WIDTH, "monokai", STYLE, CONSOLE)
    for chunk in ("See [the docs][1].\n\n", "Other text [x].\n\n", "More.\n\n"):
        lines.add(splitter.feed(chunk), splitter.references)
    assert plain(shown(lines))[0].rstrip() == "See [the docs][1]."
    before = render_markdown.cache_info()
    lines.add(splitter.feed("[1]: https://example.com\n"), splitter.references)  # still in the tail
    assert plain(shown(lines))[0].rstrip() == "See the docs (https://example.com)."
    assert render_markdown.cache_info().misses - before.misses == 1  # that block only


async def test_the_four_shapes_stream_and_reopen_as_rich_renders_them(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text=SHAPES, tokens_per_second=2000))
    app = create_app(model=MODEL)
    async with app.run_test(size=(90, 60)) as pilot:
        await pilot.press(*"go", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage)
        streamed, width = body_text(reply), reply.query_one(ReplyBody).size.width
    assert streamed == rich_text(SHAPES, width)
    assert "See the docs (https://example.com/docs) for more." in streamed
    assert "   print('hi')" not in streamed and not any(line.startswith("```") for line in streamed)
    again = create_app(model=MODEL)  # the session is read back from the store
    async with again.run_test(size=(90, 60)) as pilot:
        await pilot.pause()
        reopened = again.transcript.latest(AssistantMessage)
        assert isinstance(reopened, AssistantMessage)
        assert body_text(reopened) == streamed


async def test_the_screen_mid_stream_is_rich_rendering_the_text_so_far(fake: type[FakeBackend]) -> None:
    fake.replies = [SHAPES]
    fake.hold = asyncio.Event()  # the stream pauses halfway
    app = create_app(model="fake/x")
    async with app.run_test(size=(90, 60)) as pilot:
        await pilot.press(*"go", "enter")
        reply = None
        for _ in range(200):
            await asyncio.sleep(0.02)
            reply = app.transcript.latest(AssistantMessage)
            if isinstance(reply, AssistantMessage) and reply.text and not reply._chunks:
                break
        await pilot.pause()
        assert isinstance(reply, AssistantMessage) and 0 < len(reply.text) < len(SHAPES)
        width = reply.query_one(ReplyBody).size.width
        assert body_text(reply) == rich_text(reply.text, width)
        fake.hold.set()
        await settle(app)
        await pilot.pause()
        assert body_text(reply) == rich_text(SHAPES, width)


def body_text(reply: AssistantMessage) -> list[str]:
    body = reply.query_one(ReplyBody)
    return [body.render_line(y).text.rstrip() for y in range(body.size.height)]
