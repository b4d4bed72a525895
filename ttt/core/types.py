"""Provider-neutral types: messages, their parts, stream events and the final response.

Backends translate to and from these; nothing past a backend sees a provider's format.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass
class ThinkingPart:
    text: str
    type: Literal["thinking"] = "thinking"


@dataclass
class ToolCall:
    """A call the model asked for; ``arguments`` is parsed JSON, ``raw_arguments`` what was sent."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = ""
    type: Literal["tool_call"] = "tool_call"


@dataclass
class ToolResult:
    """What running a call produced; ``error`` is set (and ``content`` explains) on failure.

    ``outcome`` says how it ended, for metrics: "ok", "error", "timeout" or "denied" (not run
    for want of permission); the executor sets it, so nobody has to guess from the wording."""

    call_id: str
    name: str
    content: str
    error: str | None = None
    duration: float = 0.0
    arguments: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    images: list[ImagePart] = field(default_factory=list)  # images the tool returned (MCP)
    type: Literal["tool_result"] = "tool_result"

    def __post_init__(self) -> None:
        if self.error is not None and self.outcome == "ok":  # made by hand, or stored before outcomes
            self.outcome = "error"

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ImagePart:
    """An image input; ``data`` is base64, ``sha256`` identifies it without storing a copy."""

    media_type: str
    data: str = ""
    path: str = ""
    sha256: str = ""
    type: Literal["image"] = "image"


Part = TextPart | ThinkingPart | ToolCall | ToolResult | ImagePart


@dataclass
class Message:
    role: Role
    parts: list[Part] = field(default_factory=list)

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", [TextPart(text)])

    @classmethod
    def user(cls, text: str, images: list[ImagePart] | None = None) -> Message:
        return cls("user", [TextPart(text), *(images or [])])

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", [TextPart(text)])

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [p for p in self.parts if isinstance(p, ToolResult)]

    @property
    def images(self) -> list[ImagePart]:
        return [p for p in self.parts if isinstance(p, ImagePart)]


@dataclass
class ToolSpec:
    """A tool as offered to a model: name, description and JSON schema of its parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ChatRequest:
    """One call to a backend.

    ``model`` is what the backend expects: the bare model name for local backends (``llama3.2``),
    the LiteLLM-style ``provider/model`` string for the cloud backend.
    """

    model: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    options: dict[str, Any] = field(default_factory=dict)


# --- stream events ---------------------------------------------------------------------------


@dataclass
class TextDelta:
    text: str
    kind: Literal["text"] = "text"


@dataclass
class ThinkingDelta:
    text: str
    kind: Literal["thinking"] = "thinking"


@dataclass
class ToolCallStart:
    index: int
    id: str
    name: str
    kind: Literal["tool_call_start"] = "tool_call_start"


@dataclass
class ToolCallDelta:
    index: int
    arguments: str
    kind: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass
class ToolCallReady:
    call: ToolCall
    kind: Literal["tool_call_ready"] = "tool_call_ready"


@dataclass
class ToolResultEvent:
    result: ToolResult
    kind: Literal["tool_result"] = "tool_result"


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    kind: Literal["usage"] = "usage"

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None and other.cost is None else (self.cost or 0) + (other.cost or 0)
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens, cost)


@dataclass
class Finish:
    """A backend's last event for one request."""

    reason: str = "stop"
    kind: Literal["finish"] = "finish"


@dataclass
class RouteInfo:
    """The engine's first event of a turn (and of each fallback): which model and backend answer,
    why, and how much of the conversation fits that model's context window."""

    model: str
    backend: str
    reason: str = ""
    context_tokens: int = 0  # estimated tokens sent
    context_window: int | None = None  # the model's window; None when unknown
    left_out: int = 0  # the oldest messages not sent, to fit the window
    kind: Literal["route"] = "route"


@dataclass
class Done:
    response: AIResponse
    kind: Literal["done"] = "done"


@dataclass
class ErrorEvent:
    error: Exception
    kind: Literal["error"] = "error"


StreamEvent = (
    TextDelta
    | ThinkingDelta
    | ToolCallStart
    | ToolCallDelta
    | ToolCallReady
    | ToolResultEvent
    | Usage
    | Finish
    | RouteInfo
    | Done
    | ErrorEvent
)


@dataclass
class AIResponse:
    """The outcome of one turn. ``str(response)`` is the reply text."""

    text: str
    model: str = ""
    backend: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    time_to_first_token: float | None = None
    finish_reason: str = "stop"
    tool_calls: list[ToolResult] = field(default_factory=list)
    thinking: str = ""
    messages: list[Message] = field(default_factory=list)
    cached: bool = False

    def __str__(self) -> str:
        return self.text

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``ttt -p --json``."""
        return {
            "text": self.text,
            "model": self.model,
            "backend": self.backend,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
            "seconds": round(self.seconds, 3),
            "time_to_first_token": None
            if self.time_to_first_token is None
            else round(self.time_to_first_token, 3),
            "finish_reason": self.finish_reason,
            "cached": self.cached,
            "tool_calls": [
                {
                    "id": r.call_id,
                    "name": r.name,
                    "arguments": r.arguments,
                    "result": r.content if r.ok else None,
                    "error": r.error,
                    "seconds": round(r.duration, 3),
                }
                for r in self.tool_calls
            ],
        }


@dataclass
class Reply:
    """One assistant reply folded from its stream events: the one place that turns deltas, calls,
    usage and the finish reason into a message, so every consumer of a stream agrees on it."""

    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish: str = "stop"

    def add(self, event: StreamEvent) -> None:
        """Fold one event in; events that don't shape the message are ignored."""
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinking.append(event.text)
        elif isinstance(event, ToolCallReady):
            self.calls.append(event.call)
        elif isinstance(event, Usage):
            self.usage = self.usage + event
        elif isinstance(event, Finish):
            self.finish = event.reason

    def parts(self) -> list[Part]:
        """The message's parts: thinking, text (kept even when empty unless the reply is only tool
        calls), then the calls."""
        parts: list[Part] = [ThinkingPart("".join(self.thinking))] if self.thinking else []
        if self.text or not self.calls:
            parts.append(TextPart("".join(self.text)))
        return [*parts, *self.calls]


@dataclass
class TurnOptions:
    """One turn's settings, taken alike by ``ttt.stream``/``ask`` and ``ChatSession``; ``None``
    means the session's value, then the config's."""

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools: Sequence[Any] | None = None
    approve: Any = None  # ttt.core.tools.executor.ApprovalCallback
    options: dict[str, Any] = field(default_factory=dict)
    private: bool = False  # local models only (as the config's routing.private_marker does)

    @classmethod
    def of(cls, turn: TurnOptions | None = None, **settings: Any) -> TurnOptions:
        """``turn`` (or the defaults) with keyword settings on top, so keyword calls keep working;
        an unknown name is a TypeError, as for any function."""
        return dataclasses.replace(turn or cls(), **settings)

    def over(self, **defaults: Any) -> TurnOptions:
        """These settings, with ``defaults`` for the ones left unset (None)."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


def parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Parse tool-call arguments; raises ValueError with a readable reason when they are not an object."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError("arguments must be a JSON object")
    return value
