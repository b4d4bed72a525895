"""Outside data made fit for the screen, at the door it comes in by (the controller).

Sessions, messages, tool calls and results, model lists and routes come from providers, tools,
files and imported sessions: any text in them passes ``ttt.core.sanitize`` before a widget sees it,
so none can carry a control sequence to the terminal. What is stored stays as it was.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from ttt.core.sanitize import TerminalFilter, terminal_safe
from ttt.core.session.store import StoredMessage
from ttt.core.types import (
    Part,
    RouteInfo,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallReady,
    ToolResultEvent,
)

T = TypeVar("T")


def screen_safe(value: T) -> T:
    """``value`` with every string in it (through lists, dicts and dataclasses) made terminal-safe."""
    if isinstance(value, str):
        return terminal_safe(value)  # type: ignore[return-value]
    if isinstance(value, list | tuple):
        return type(value)(screen_safe(item) for item in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {screen_safe(k): screen_safe(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, StoredMessage):
        return dataclasses.replace(
            value, parts=_parts(value.parts), model=terminal_safe(value.model), error=screen_safe(value.error)
        )  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return dataclasses.replace(
            value, **{f.name: screen_safe(getattr(value, f.name)) for f in fields if f.init}
        )
    return value


def _parts(parts: list[Part]) -> list[Part]:
    """A message's parts: its text (and its thinking) may be stored in several parts, cut where the
    stream switched between them, so each kind goes through one filter, as a stream."""
    filters = {TextPart: TerminalFilter(), ThinkingPart: TerminalFilter()}
    cleaned: list[Part] = []
    for part in parts:
        stream = filters.get(type(part))  # type: ignore[call-overload]
        cleaned.append(type(part)(stream.feed(part.text)) if stream else screen_safe(part))
    rest = [kind(stream.flush()) for kind, stream in filters.items()]
    return cleaned + [part for part in rest if part.text]


class SafeStream:
    """One turn's events fit for the screen. Reply and thinking text go through filters of their
    own (a sequence may be cut by a chunk edge); calls, results and routes are cleaned whole."""

    def __init__(self) -> None:
        self._text = TerminalFilter()
        self._thinking = TerminalFilter()

    def event(self, event: StreamEvent) -> StreamEvent:
        if isinstance(event, TextDelta):
            return TextDelta(self._text.feed(event.text))
        if isinstance(event, ThinkingDelta):
            return ThinkingDelta(self._thinking.feed(event.text))
        if isinstance(event, ToolCallReady | ToolResultEvent | RouteInfo):
            return screen_safe(event)
        return event

    def rest(self) -> list[StreamEvent]:
        """What the filters still hold once the stream ended (text after an unfinished sequence)."""
        thinking, text = self._thinking.flush(), self._text.flush()
        return [e for e in (ThinkingDelta(thinking), TextDelta(text)) if e.text]
