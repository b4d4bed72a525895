"""One message of the transcript: the prompt, or a reply that may still be streaming.

Model text only ever reaches the screen through Rich's ``Markdown`` (see ``ReplyBody``) or ``Text``, so
nothing a model writes is read as Textual markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Collapsible, Static

from ttt.core.session.branches import BranchPoint
from ttt_tui.blocks import BlockSplitter, split_blocks
from ttt_tui.widgets.reply_body import ReplyBody


class RoleLine(Static):
    """A message's first line: who speaks and, with siblings, a clickable ``‹ 2/3 ›``."""

    def action_branch(self, step: int) -> None:
        """A click on an arrow (its ``@click`` meta runs this on the widget clicked)."""
        view = self.parent
        if isinstance(view, MessageView):
            view.post_message(MessageView.BranchRequested(view, step))


class MessageView(Vertical, can_focus=True):
    """Shared by prompts and replies: focusable, copyable, with its place among its siblings."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy", "Copy", id="message.copy")]

    class BranchRequested(Message):
        """Show the sibling ``step`` places away from this message; the conversation follows it."""

        def __init__(self, view: MessageView, step: int) -> None:
            super().__init__()
            self.view = view
            self.step = step

    def __init__(self, text: str, *, index: int | None = None, classes: str = "") -> None:
        super().__init__(classes=classes)
        self.text = text
        self.index = index  # the message's id in the store, once it is stored
        self.branch: BranchPoint | None = None  # where it stands among its siblings, if it has any
        self._role: RoleLine | None = None

    def _role_text(self) -> Text:
        raise NotImplementedError

    def _header(self) -> RoleLine:
        self._role = RoleLine(self._role_line(), classes="role")
        return self._role

    def _role_line(self) -> Text:
        """Who speaks, then ``‹ 2/3 ›`` when there are alternatives to walk."""
        text = self._role_text()
        if self.branch is not None:
            arrow = Style(bold=True)
            text.append("  ")
            text.append("‹", style=arrow + Style(meta={"@click": "branch(-1)"}))
            text.append(f" {self.branch.position}/{self.branch.count} ", style="dim")
            text.append("›", style=arrow + Style(meta={"@click": "branch(1)"}))
        return text

    def set_branch(self, branch: BranchPoint | None) -> None:
        self.branch = branch
        self._show_role()

    def _show_role(self) -> None:
        if self._role is not None:
            self._role.update(self._role_line())

    def render_line(self, y: int) -> Strip:
        """Only background shows between the children. Textual would render the whole height
        into a cache each time the size changes; a long reply grows every frame."""
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("Message copied", timeout=2)


class UserMessage(MessageView):
    """A prompt, shown as typed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("e", "edit", "Edit & resend", id="message.edit")]

    class EditRequested(Message):
        """The user wants to change this prompt and ask again (a new branch beside it)."""

        def __init__(self, view: UserMessage) -> None:
            super().__init__()
            self.view = view

    def compose(self):  # type: ignore[no-untyped-def]
        yield self._header()
        yield Static(Text(self.text), classes="body")

    def _role_text(self) -> Text:
        return Text("You", style="bold")

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))


class AssistantMessage(MessageView):
    """A reply. While streaming, text is buffered and ``flush`` (once a frame) renders it.

    Settled text (see ``BlockSplitter``) goes to the body as blocks rendered once; only the
    unsettled tail is rendered again each frame (see ``ReplyBody``).
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
        streaming: bool = False,
    ) -> None:
        super().__init__(text, index=index)
        self.tool_lines = tool_lines or []
        self.model = model
        self.thinking = thinking
        self.streaming = streaming  # from the moment its turn is sent until ``finish``
        self.tokens = 0
        self._chunks: list[str] = []
        self._thinking_chunks: list[str] = []
        self._splitter = BlockSplitter()
        self.initial_mark: tuple[str, bool] | None = None  # (mark, is error) of a stored reply
        self._tools: Static | None = None
        self._mark: Static | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        """Only the parts a reply has: widgets cost, and a page of a long session has many."""
        self._body = ReplyBody(*split_blocks(self.text))
        yield self._header()
        if self.thinking:
            yield self._thinking_view()
        yield self._body
        if self.tool_lines:
            yield self._tool_view()
        if self.initial_mark is not None:
            yield self._mark_view(*self.initial_mark)

    def _thinking_view(self) -> Collapsible:
        """Mounted only for a reply that has thinking: most don't, and widgets cost."""
        self._thinking_text = Static(Text(self.thinking), classes="thinking-text")
        return Collapsible(self._thinking_text, title="Thinking", collapsed=True, classes="thinking")

    def _role_text(self) -> Text:
        text = Text("Assistant", style="bold")
        if self.model:
            text.append(f"  {self.model}", style="dim")
        return text

    # --- streaming ------------------------------------------------------------------------------

    def start(self, model: str) -> None:
        self.model = model
        self._show_role()

    def append(self, text: str) -> None:
        """Called per token: only buffers."""
        self._chunks.append(text)
        self.tokens += 1

    def append_thinking(self, text: str) -> None:
        self._thinking_chunks.append(text)

    def flush(self) -> None:
        """Render what arrived since the last frame."""
        if self._thinking_chunks:
            first = not self.thinking
            self.thinking += "".join(self._thinking_chunks)
            self._thinking_chunks.clear()
            if first:
                self.mount(self._thinking_view(), before=self._body)
            else:
                self._thinking_text.update(Text(self.thinking))
        if not self._chunks:
            return
        chunk = "".join(self._chunks)
        self._chunks.clear()
        self.text += chunk
        self._body.add(self._splitter.feed(chunk), self._splitter.references)
        self._body.show_live(self._splitter.tail, self._splitter.lexer)

    async def finish(self, mark: str = "", *, error: bool = False) -> None:
        """The reply ended: the tail is settled too, parsed once more as a whole, right after the
        frame that shows the last of it (a long code block takes a while to render whole)."""
        self.streaming = False
        self.flush()
        blocks, references = self._splitter.close(), self._splitter.references

        def settle() -> None:
            self._body.show_live("")
            self._body.add(blocks, references)

        self.call_after_refresh(settle)
        if mark:
            self.set_mark(mark, error=error)

    def set_mark(self, mark: str, error: bool = False) -> None:
        if self._mark is None:
            self.mount(self._mark_view(mark, error))
        else:
            self._mark.update(Text(mark))
            self._set_error(error)

    def _mark_view(self, mark: str, error: bool) -> Static:
        self._mark = Static(Text(mark), classes="mark")
        self._set_error(error)
        return self._mark

    def _set_error(self, error: bool) -> None:
        self.set_class(error, "-error")
        self.set_class(not error, "-stopped")

    def set_tool_lines(self, lines: list[Text]) -> None:
        """One line per tool call of this reply; details live in the inspector."""
        self.tool_lines = lines
        if self._tools is None:
            if lines:
                self.mount(self._tool_view(), after=self._body)
        else:
            self._tools.update(Text("\n").join(lines))

    def _tool_view(self) -> Static:
        self._tools = Static(Text("\n").join(self.tool_lines), classes="tools")
        return self._tools

    # --- copying --------------------------------------------------------------------------------

    def action_copy_code(self) -> None:
        code = self._body.code_blocks
        if not code:
            self.notify("No code block in this message", severity="warning", timeout=2)
            return
        self._copy_code(code[-1])

    def on_reply_body_code_clicked(self, event: ReplyBody.CodeClicked) -> None:
        self._copy_code(event.code)

    def _copy_code(self, code: str) -> None:
        self.app.copy_to_clipboard(code)
        self.notify("Code block copied", timeout=2)
