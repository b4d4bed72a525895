"""The streaming renderer: where Markdown settles, and how a reply's blocks reach the screen."""

from __future__ import annotations

import random

import pytest
from rich.console import Console
from rich.markdown import Markdown
from rich.style import Style

from tests.providers import OllamaServer, Reply
from tests.tui.conftest import MODEL, FakeBackend, rich_text, settle
from ttt_tui.app import create_app
from ttt_tui.blocks import Block, BlockSplitter, split_blocks
from ttt_tui.rendering import CODE_CHUNK, _code_chunk, _Markdown, render_live, render_markdown
from ttt_tui.widgets.message import AssistantMessage, UserMessage
from ttt_tui.widgets.reply_body import ReplyBody

REPLY = (
    "# Title\n\nA paragraph\nover two lines.\n\n- one\n- two\n\n"
    "```python\ndef f():\n\n    return 1\n```\n"
    "Right after the fence.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~~\nno language\n~~~\n\nThe end."
)


def test_blocks_are_markdown_its_top_level_blocks() -> None:
    blocks, references = split_blocks(REPLY)
    kinds = ["heading_open", "paragraph_open", "bullet_list_open", "fence", "paragraph_open"]
    assert [block.kind for block in blocks] == [*kinds, "table_open", "fence", "paragraph_open"]
    assert blocks[3] == Block(
        "```python\ndef f():\n\n    return 1\n```\n", "fence", "def f():\n\n    return 1"
    )
    assert blocks[4].text == "Right after the fence.\n\n"
    assert blocks[-2].code == "no language" and references == {}


@pytest.mark.parametrize("seed", range(5))
def test_a_stream_in_any_chunks_settles_into_the_same_blocks(seed: int) -> None:
    rng, splitter, settled, at = random.Random(seed), BlockSplitter(), [], 0
    while at < len(REPLY):
        size = rng.randint(1, 12)
        settled += splitter.feed(REPLY[at : at + size])
        at += size
        assert len(splitter.tail) < 60  # only the last block is kept back (and parsed again)
    assert [*settled, *splitter.close()] == split_blocks(REPLY)[0]


def test_a_closed_fence_settles_at_once_and_an_open_one_is_the_tail() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("Text.\n\n```rust\nfn main() {}\n") == [Block("Text.\n\n", "paragraph_open")]
    assert (splitter.tail, splitter.lexer) == ("```rust\nfn main() {}\n", "rust")
    assert splitter.feed("``") == [] and splitter.lexer == "rust"  # half a line settles nothing
    assert splitter.feed("`\n") == [Block("```rust\nfn main() {}\n```\n", "fence", "fn main() {}")]
    assert (splitter.tail, splitter.lexer) == ("", None)


def test_half_a_line_never_settles_the_block_before_it() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("- a\n- b\n#") == []  # as it stands, an empty heading that ends the list
    assert splitter.feed("tag\n") == []  # but the line goes on: it continues the last item
    assert splitter.feed("\nNext.\n") == [Block("- a\n- b\n#tag\n\n", "bullet_list_open")]


async def test_reply_renders_blocks_as_rich_renders_the_whole_and_copies_a_clicked_code_block(
    ollama: OllamaServer,
) -> None:
    ollama.script.push(Reply(text=REPLY, tokens_per_second=400))
    app = create_app(model=MODEL)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.press(*"go", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage) and reply.text == REPLY
        body = reply.query_one(ReplyBody)
        assert body.blocks == split_blocks(REPLY)[0] and body.live == ""
        lines = [body.render_line(y).text.rstrip() for y in range(body.size.height)]
        assert lines == rich_text(REPLY, body.size.width)
        assert lines[0].strip() == "Title" and lines[2] == "A paragraph over two lines."
        assert lines[-2:] == ["", "The end."]  # nothing trails the last block
        assert body.code_blocks == ["def f():\n\n    return 1", "no language"]
        code_line = next(y for y, line in enumerate(lines) if "def f" in line)
        await pilot.click(ReplyBody, offset=(4, code_line))
        assert app.clipboard == "def f():\n\n    return 1"
        await pilot.click(ReplyBody, offset=(4, 2))  # prose: nothing copied
        assert app.clipboard == "def f():\n\n    return 1"


async def test_thinking_is_shown_collapsed_above_the_reply(ollama: OllamaServer) -> None:
    ollama.script.push(Reply(text="The answer is 4.", thinking="Two plus two is four."))
    app = create_app(model=MODEL)
    async with app.run_test() as pilot:
        await pilot.press(*"2+2?", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert reply is not None and reply.thinking == "Two plus two is four."
        collapsible = reply.query_one(".thinking")
        assert collapsible.collapsed  # type: ignore[attr-defined]
        assert list(reply.children).index(collapsible) < list(reply.children).index(
            reply.query_one(ReplyBody)
        )
        ollama.script.push("No thoughts here.")
        await pilot.press(*"again", "enter")
        await settle(app)
        plain = app.transcript.latest(AssistantMessage)
        assert plain is not None and not plain.query(".thinking")


async def test_a_reply_added_right_after_the_welcome_panel_goes_is_still_followed(
    fake: type[FakeBackend],
) -> None:
    app = create_app(model="fake/x")
    async with app.run_test() as pilot:
        await app.transcript.show([])  # what sending from the welcome panel does first
        await app.transcript.add(UserMessage("hi"))
        await pilot.pause()
        assert app.transcript.is_anchored  # a deferred scroll home must not release it later


@pytest.mark.parametrize("lines", [0, 1, CODE_CHUNK, CODE_CHUNK + 1, 3 * CODE_CHUNK + 5])
def test_an_open_code_block_renders_in_chunks_like_the_whole_block(lines: int) -> None:
    code = "".join(f"def f{i}(x: int) -> int:  # line {i}\n" for i in range(lines))
    console, style = Console(width=60, color_system="truecolor"), Style(bgcolor="#101010")
    for spaced in (False, True):
        streaming = render_live(f"```python\n{code}", "python", (), spaced, 60, "monokai", style, console)
        settled = render_markdown(f"```python\n{code}```\n", (), spaced, 60, "monokai", style, console)
        assert streaming == settled  # same text, same colours, same padding


def test_the_part_of_a_long_open_code_block_already_shown_is_not_rendered_again() -> None:
    code = "".join(f"x{i} = {i}\n" for i in range(10 * CODE_CHUNK))
    args = ((), False, 60, "monokai", Style(), Console(width=60))
    render_live(f"```python\n{code}", "python", *args)
    before = _code_chunk.cache_info()
    render_live(f"```python\n{code}y = 1\n", "python", *args)  # one more line arrived
    after = _code_chunk.cache_info()
    # nine chunks come from the cache, the one just completed is rendered once, the new line apart
    assert (after.hits - before.hits, after.misses - before.misses) == (9, 1)


def test_a_blocks_markdown_sets_all_that_richs_own_sets() -> None:
    """It sets Rich's attributes itself (Rich builds a parser per document): a Rich that sets one
    more must be followed."""
    assert vars(_Markdown("x", (), "monokai", False)).keys() == vars(Markdown("x")).keys()
