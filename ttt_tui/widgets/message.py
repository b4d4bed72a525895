"""One message of the transcript: the prompt, or a reply that may still be streaming.

Model text only ever reaches the screen through ``Markdown`` widgets or ``rich.text.Text``, so
nothing a model writes is read as Textual markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from ttt_tui.blocks import BlockSplitter, Parts, is_fence, split_parts


def code_theme(app: App[object]) -> str:
    return "monokai" if app.current_theme.dark else "default"


GROUP = 16  # rendered parts per group


class MarkdownPart(Widget):
    """Part of a reply, rendered with Rich's Markdown: one widget, however many blocks it holds.

    Textual's ``Markdown`` makes a widget per block, and styling each costs milliseconds; at
    2,000 tokens/s that alone outruns the frame budget. The rendered lines are cached per width,
    so layout and painting render a part once.
    """

    DEFAULT_CSS = "MarkdownPart { height: auto; }"

    def __init__(self, source: str, *, classes: str = "") -> None:
        super().__init__(classes=f"part {classes}".strip())
        self.source = source
        self.set_class(is_fence(source), "-code")
        self._key: tuple[object, ...] = ()
        self._strips: list[Strip] = []

    def show(self, source: str) -> None:
        if source != self.source:
            self.source = source
            self.refresh(layout=True)

    def _lines(self, width: int) -> list[Strip]:
        key = (width, self.source, self.app.theme)
        if key != self._key:
            self._key = key
            text = self.source.strip("\n")
            if not text or width <= 0:
                self._strips = []
            else:
                console = self.app.console
                markdown = RichMarkdown(text, code_theme=code_theme(self.app), hyperlinks=False)
                style = self.visual_style.rich_style
                lines = console.render_lines(
                    markdown, console.options.update_width(width).reset_height(), style=style
                )
                self._strips = [Strip(line, width) for line in lines]
        return self._strips

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self._lines(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.visual_style.rich_style)

    @property
    def code(self) -> str:
        """The code of a part that is one fenced block."""
        lines = self.source.strip("\n").splitlines()
        return "\n".join(lines[1:-1] if len(lines) > 1 and is_fence(lines[-1]) else lines[1:])


class BlockGroup(Vertical):
    """A few rendered parts of a streaming reply."""

    DEFAULT_CSS = "BlockGroup { height: auto; }"

    def __init__(self, *parts: Widget) -> None:
        super().__init__(*parts)
        self._frozen_width: int | None = None

    def freeze(self) -> None:
        """A full group gets a fixed height, so later frames never measure its parts again."""
        if self.size.height:
            self._frozen_width = self.size.width
            self.styles.height = self.size.height

    def on_resize(self) -> None:
        if self._frozen_width is not None and self.size.width != self._frozen_width:
            self._frozen_width = None
            self.styles.height = "auto"  # new width, new line breaks: measure again


class MessageView(Vertical, can_focus=True):
    """Shared by prompts and replies: focusable, copyable."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy", "Copy", id="message.copy")]

    def __init__(self, text: str, *, index: int | None = None, classes: str = "") -> None:
        super().__init__(classes=classes)
        self.text = text
        self.index = index  # the message's id in the store, once it is stored

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Message copied", timeout=2)


class UserMessage(MessageView):
    """A prompt, shown as typed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("e", "edit", "Edit & resend", id="message.edit")]

    class EditRequested(Message):
        """The user wants to change this prompt and ask again (forks the session)."""

        def __init__(self, view: UserMessage) -> None:
            super().__init__()
            self.view = view

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("You", style="bold"), classes="role")
        yield Static(Text(self.text), classes="body")

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))


class AssistantMessage(MessageView):
    """A reply. While streaming, text is buffered and ``flush`` (once a frame) renders it.

    Streaming rendering: settled text (see ``BlockSplitter``) becomes ``MarkdownPart`` widgets,
    each parsed and rendered once; only the live part — settled prose not yet made a part, plus
    the unsettled tail, both bounded — is re-rendered each frame. So a frame costs the same
    however long the reply already is.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("k", "copy_code", "Copy code", id="message.copy_code")]

    def __init__(
        self,
        text: str = "",
        *,
        model: str = "",
        thinking: str = "",
        tool_lines: list[Text] | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(text, index=index)
        self.tool_lines = tool_lines or []
        self.model = model
        self.thinking = thinking
        self.streaming = False
        self.tokens = 0
        self._chunks: list[str] = []
        self._thinking_chunks: list[str] = []
        self._splitter = BlockSplitter()
        self._parts = Parts()
        self._group: BlockGroup | None = None
        self._count = 0
        self.initial_mark: tuple[str, bool] | None = None  # (mark, is error) of a stored reply

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self._role_text(), classes="role")
        with Collapsible(title="Thinking", collapsed=True, classes="thinking"):
            self._thinking_text = Static(Text(self.thinking), classes="thinking-text")
            yield self._thinking_text
        with Vertical(classes="blocks"):
            parts = split_parts(self.text)
            for start in range(0, len(parts), GROUP):
                yield BlockGroup(*(MarkdownPart(p) for p in parts[start : start + GROUP]))
        yield MarkdownPart("", classes="live")
        yield Static(classes="tools")
        yield Static(classes="mark")

    def on_mount(self) -> None:
        # Cached: a query below the rendered parts would walk all of them on every frame.
        self._role = self.query_one(".role", Static)
        self._blocks = self.query_one(".blocks", Vertical)
        self._live = self.query_one(".live", MarkdownPart)
        self._thinking = self.query_one(".thinking", Collapsible)
        self._tools = self.query_one(".tools", Static)
        self._mark = self.query_one(".mark", Static)
        self._thinking.display = bool(self.thinking)
        self._live.display = False
        self._mark.display = False
        self.set_tool_lines(self.tool_lines)
        if self.initial_mark is not None:
            self.set_mark(*self.initial_mark)

    def _role_text(self) -> Text:
        text = Text("Assistant", style="bold")
        if self.model:
            text.append(f"  {self.model}", style="dim")
        return text

    # --- streaming ------------------------------------------------------------------------------

    def start(self, model: str) -> None:
        self.streaming = True
        self.model = model
        self._role.update(self._role_text())
        self._live.display = True

    def append(self, text: str) -> None:
        """Called per token: only buffers."""
        self._chunks.append(text)
        self.tokens += 1

    def append_thinking(self, text: str) -> None:
        self._thinking_chunks.append(text)

    def flush(self) -> None:
        """Render what arrived since the last frame."""
        if self._thinking_chunks:
            self.thinking += "".join(self._thinking_chunks)
            self._thinking_chunks.clear()
            self._thinking.display = True
            self._thinking_text.update(Text(self.thinking))
        if not self._chunks:
            return
        chunk = "".join(self._chunks)
        self._chunks.clear()
        self.text += chunk
        for part in self._parts.add(self._splitter.feed(chunk)):
            self._mount_part(part)
        self._live.show(self._parts.prose + self._splitter.tail)

    def _mount_part(self, source: str) -> None:
        if self._group is None or self._count % GROUP == 0:
            if self._group is not None:
                self.call_after_refresh(self._group.freeze)
            self._group = BlockGroup()  # groups keep each re-layout to a few siblings
            self._blocks.mount(self._group)
        self._count += 1
        self._group.mount(MarkdownPart(source))

    async def finish(self, mark: str = "", *, error: bool = False) -> None:
        """The reply ended: the last text is parsed once more as a whole and the live part goes."""
        self.streaming = False
        self.flush()
        for part in [*self._parts.add([self._splitter.tail]), *self._parts.flush()]:
            self._mount_part(part)
        self._splitter.tail = ""
        self._live.show("")
        self._live.display = False
        if mark:
            self.set_mark(mark, error=error)

    def set_mark(self, mark: str, error: bool = False) -> None:
        widget = self._mark
        widget.update(Text(mark))
        widget.display = True
        self.set_class(error, "-error")
        self.set_class(not error, "-stopped")

    def set_tool_lines(self, lines: list[Text]) -> None:
        """One line per tool call of this reply; details live in the inspector."""
        self.tool_lines = lines
        widget = self._tools
        widget.update(Text("\n").join(lines))
        widget.display = bool(lines)

    # --- copying --------------------------------------------------------------------------------

    def action_copy_code(self) -> None:
        code = [part for part in self.query(MarkdownPart) if part.has_class("-code")]
        if not code:
            self.notify("No code block in this message", severity="warning", timeout=2)
            return
        self._copy_code(code[-1])

    def on_click(self, event: Click) -> None:
        if isinstance(event.widget, MarkdownPart) and event.widget.has_class("-code"):
            self._copy_code(event.widget)

    def _copy_code(self, part: MarkdownPart) -> None:
        self.app.copy_to_clipboard(part.code)
        self.notify("Code block copied", timeout=2)
