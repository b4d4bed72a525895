"""What one turn measures while it streams: each backend request and each tool call.

The engine fills a ``TurnMetrics`` with in-memory appends only and hands it to ``record`` when
the turn ends; the writer (``ttt.core.metrics``, a thread and the store) loads only then, so a
request never waits on it. A "request" is one call to a backend: retries and fallbacks are
requests of their own, so error rates show what each backend really did.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from ttt.core.models import model_registry
from ttt.core.types import StreamEvent, TextDelta, ThinkingDelta, ToolCallStart, ToolResult, Usage


@dataclass
class RequestMetric:
    """One backend request; ``error`` is the error's type name (None when it succeeded)."""

    backend: str
    model: str
    started: float = field(default_factory=time.time)
    seconds: float | None = None  # None while it runs
    ttft: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    error: str | None = None
    _clock: float = field(default_factory=time.perf_counter, repr=False)

    def observe(self, event: StreamEvent) -> None:
        """Note the first token and the usage an event carries."""
        if self.ttft is None and isinstance(event, (TextDelta, ThinkingDelta, ToolCallStart)):
            self.ttft = time.perf_counter() - self._clock
        elif isinstance(event, Usage):
            self.input_tokens += event.input_tokens
            self.output_tokens += event.output_tokens
            if event.cost is not None:
                self.cost = (self.cost or 0.0) + event.cost

    @property
    def sent(self) -> float:
        """When the request went out, on the ``time.perf_counter`` clock."""
        return self._clock

    def end(self, error: BaseException | str | None = None) -> None:
        if self.seconds is not None:
            return
        self.seconds = time.perf_counter() - self._clock
        self.error = error if isinstance(error, str) or error is None else type(error).__name__
        if self.cost is None and (self.input_tokens or self.output_tokens):
            info = model_registry.get(self.model)
            self.cost = info.cost(self.input_tokens, self.output_tokens) if info else None


@dataclass
class ToolMetric:
    name: str
    seconds: float
    outcome: str  # ToolResult.outcome: ok, error, timeout, denied
    model: str = ""
    started: float = field(default_factory=time.time)


@dataclass
class TurnMetrics:
    """What one turn's requests and tool calls measured."""

    requests: list[RequestMetric] = field(default_factory=list)
    tools: list[ToolMetric] = field(default_factory=list)
    recorded: bool = False

    def start(self, backend: str, model: str) -> RequestMetric:
        self.requests.append(RequestMetric(backend, model))
        return self.requests[-1]

    def tool(self, result: ToolResult, model: str = "") -> None:
        self.tools.append(ToolMetric(result.name, result.duration, result.outcome, model))


def record(turn: TurnMetrics, enabled: bool = True) -> Future[None] | None:
    """Queue ``turn`` for writing to the store (once); requests still running count as cancelled."""
    if turn.recorded or not enabled or not (turn.requests or turn.tools):
        return None
    turn.recorded = True
    for request in turn.requests:
        request.end("Cancelled")
    from ttt.core.metrics import submit

    return submit(turn)
