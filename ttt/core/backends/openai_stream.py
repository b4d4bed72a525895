"""OpenAI chat-protocol helpers shared by every backend that speaks it.

The `openai` client, LiteLLM (whose chunks are OpenAI-shaped) and a llama.cpp server all go
through ONE translator here, so a quirk fixed once is fixed for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ttt.core.attachments import image_base64
from ttt.core.types import (
    Finish,
    Message,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallReady,
    ToolCallStart,
    ToolResult,
    ToolSpec,
    Usage,
    parse_arguments,
)


def field(obj: Any, name: str) -> Any:
    """Read ``name`` from a pydantic object or a dict (LiteLLM and servers mix both)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


# --- requests ---------------------------------------------------------------------------------


def wire_order(messages: list[Message]) -> Iterator[Message | ToolResult]:
    """Messages as chat protocols want them: each tool result on its own (they are ``tool``
    messages there), images the tools returned in a user message after them, then the message
    itself unless it held nothing but results."""
    for message in messages:
        results = message.tool_results
        yield from results
        images = [image for result in results for image in result.images]
        if images:  # chat protocols take images from users only: they follow the results as one
            names = ", ".join(dict.fromkeys(r.name for r in results if r.images))
            yield Message("user", [TextPart(f"[images returned by {names}]"), *images])
        if message.role != "tool" and not (results and not message.text and not message.images):
            yield message


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """ttt messages -> OpenAI chat messages (images as data: URLs, tool calls and results)."""
    out: list[dict[str, Any]] = []
    for message in wire_order(messages):
        if isinstance(message, ToolResult):
            out.append({"role": "tool", "tool_call_id": message.call_id, "content": message.content})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [_call_to_openai(call) for call in message.tool_calls]
            out.append(entry)
        elif message.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text else []
            parts += [
                {"type": "image_url", "image_url": {"url": f"data:{im.media_type};base64,{image_base64(im)}"}}
                for im in message.images
            ]
            out.append({"role": message.role, "content": parts})
        else:
            out.append({"role": message.role, "content": message.text})
    return out


def _call_to_openai(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments or json.dumps(call.arguments)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def to_openai_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs in the OpenAI `tools` format (Ollama accepts the same shape)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


# --- responses --------------------------------------------------------------------------------


@dataclass
class _PendingCall:
    index: int
    given_id: str
    name: str = ""
    arguments: str = ""
    started: bool = False
    announced: bool = False

    @property
    def id(self) -> str:
        return self.given_id or f"call_{self.index}"


class ChunkTranslator:
    """Turns OpenAI-shaped chunks (or one whole completion) into ttt stream events.

    Tool-call arguments arrive split across chunks, keyed by ``index``; they are accumulated and
    announced with ``ToolCallReady`` once the choice finishes (or the stream ends).
    """

    def __init__(self) -> None:
        self._calls: list[_PendingCall] = []
        self._by_index: dict[int, _PendingCall] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None

    def feed(self, chunk: Any) -> Iterator[StreamEvent]:
        """Events for one ``chat.completion.chunk``."""
        self._take_usage(field(chunk, "usage"))
        for choice in field(chunk, "choices") or []:
            yield from self._delta(field(choice, "delta"))
            yield from self._finish_choice(field(choice, "finish_reason"))

    def feed_completion(self, completion: Any) -> Iterator[StreamEvent]:
        """Events for a non-streamed ``chat.completion`` (its message is one big delta)."""
        self._take_usage(field(completion, "usage"))
        for choice in (field(completion, "choices") or [])[:1]:
            yield from self._delta(field(choice, "message"))
            yield from self._finish_choice(field(choice, "finish_reason"))

    def close(self, cost: float | None = None) -> Iterator[StreamEvent]:
        """The closing events: any calls not yet announced, usage, then ``Finish``."""
        yield from self._announce()
        if self.usage is not None:
            self.usage.cost = cost
            yield self.usage
        reason = self.finish_reason or "stop"
        yield Finish("tool_calls" if self._calls and reason == "stop" else reason)

    def _take_usage(self, usage: Any) -> None:
        if usage:
            self.usage = Usage(field(usage, "prompt_tokens") or 0, field(usage, "completion_tokens") or 0)

    def _finish_choice(self, reason: str | None) -> Iterator[StreamEvent]:
        if reason:
            self.finish_reason = reason
            yield from self._announce()

    def _delta(self, delta: Any) -> Iterator[StreamEvent]:
        if delta is None:
            return
        thinking = field(delta, "reasoning_content") or field(delta, "reasoning")
        if isinstance(thinking, str) and thinking:
            yield ThinkingDelta(thinking)
        content = field(delta, "content")
        if isinstance(content, str) and content:
            yield TextDelta(content)
        for position, raw in enumerate(field(delta, "tool_calls") or []):
            yield from self._call_delta(raw, position)

    def _call_delta(self, raw: Any, position: int) -> Iterator[StreamEvent]:
        function = field(raw, "function")
        call_id = field(raw, "id") or ""
        index = field(raw, "index")
        index = position if index is None else index  # a whole message, or a server omitting it
        pending = self._by_index.get(index)
        if pending is None or (call_id and pending.given_id and call_id != pending.given_id):
            # new call (also when a server reuses one index for several calls)
            pending = _PendingCall(len(self._calls), call_id)
            self._calls.append(pending)
            self._by_index[index] = pending
        pending.name = pending.name or field(function, "name") or ""
        piece = field(function, "arguments") or ""
        if isinstance(piece, dict):  # some servers send parsed arguments
            piece = json.dumps(piece)
        pending.arguments += piece
        if not pending.started and pending.name:
            pending.started = True
            yield ToolCallStart(pending.index, pending.id, pending.name)
            if pending.arguments:
                yield ToolCallDelta(pending.index, pending.arguments)
        elif pending.started and piece:
            yield ToolCallDelta(pending.index, piece)

    def _announce(self) -> Iterator[StreamEvent]:
        for pending in self._calls:
            if pending.announced:
                continue
            pending.announced = True
            if not pending.started:  # a call whose name never came: let the executor report it
                pending.started = True
                yield ToolCallStart(pending.index, pending.id, pending.name)
                if pending.arguments:
                    yield ToolCallDelta(pending.index, pending.arguments)
            yield ToolCallReady(ready_call(pending.id, pending.name, pending.arguments))


def ready_call(call_id: str, name: str, raw_arguments: str) -> ToolCall:
    """A finished call; arguments that are not a JSON object stay in ``raw_arguments`` with ``{}``
    parsed, so the executor can tell the model what was wrong."""
    try:
        arguments = parse_arguments(raw_arguments)
    except ValueError:
        arguments = {}
    return ToolCall(call_id, name, arguments, raw_arguments)
