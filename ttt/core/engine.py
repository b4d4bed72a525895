"""One turn: route -> prune -> backend stream -> tool calls -> results -> continue, as one event stream.

The CLI printer, the TUI, sessions and the library all consume ``Engine.run``; nothing else
implements a turn. Provider failures arrive as a final ``ErrorEvent`` (text streamed before it
stays with the caller); retries and fallbacks happen here, before any output of a request. Each
request is pruned to the window of the model its route fixed (``ttt.core.context``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace
from typing import Any

from ttt.core.config import Config
from ttt.core.context import ContextFit, fit
from ttt.core.errors import AIError, AITimeoutError, BackendNotAvailableError
from ttt.core.logs import get_logger
from ttt.core.models import model_registry
from ttt.core.routing import BackendPool, Route, Router
from ttt.core.turn_metrics import TurnMetrics, record
from ttt.core.types import (
    AIResponse,
    ChatRequest,
    Done,
    ErrorEvent,
    Message,
    Reply,
    RouteInfo,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallReady,
    ToolCallStart,
    ToolResult,
    ToolResultEvent,
    TurnOptions,
)

log = get_logger("engine")
MAX_BACKOFF = 20.0


class Engine:
    """Owns the backends of one event loop, so clients and servers are reused across turns."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pool = BackendPool(config)
        self.router = Router(config, self.pool)
        self._mcp: Any = None  # ttt.core.tools.mcp.servers.McpServers, made on first use

    def mcp_servers(self) -> Any:
        """The MCP servers of this engine (none started until a turn or the app asks)."""
        if self._mcp is None:
            from ttt.core.tools.mcp.servers import McpServers

            self._mcp = McpServers(self.config.mcp)
        return self._mcp

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._mcp is not None:
            await self._mcp.aclose()

    async def run(
        self, messages: list[Message], turn: TurnOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream one turn; ``messages`` is the whole conversation so far, ending with the prompt.

        Yields ``RouteInfo`` first, then deltas, tool events and usage, and finally ``Done`` or
        ``ErrorEvent``.
        """
        measured = TurnMetrics()
        try:
            # each level closes the one it iterates, so a consumer that stops early (or raises)
            # ends the backend's HTTP stream at once, not when garbage collection gets to it
            async with aclosing(self._run(messages, turn or TurnOptions(), measured)) as events:
                async for event in events:
                    yield event
        finally:
            record(measured, self.config.metrics)  # cancelled turns too; a no-op once recorded

    async def _run(
        self, messages: list[Message], turn: TurnOptions, measured: TurnMetrics
    ) -> AsyncGenerator[StreamEvent, None]:
        state = _TurnState(time.perf_counter())
        try:
            routes = await self.router.candidates(turn.model, messages, turn.private)
            log.debug("route: %s on %s (%s)", routes[0].model, routes[0].backend, routes[0].reason)
            tools, executor = await self._tools(turn)
            conversation = list(messages)

            def build(route: Route) -> tuple[ChatRequest, ContextFit]:
                return self._request(route, conversation, tools, turn)

            first, fitted = build(routes[0])
            cache_key = self._cache_key(routes[0], first)
            if cache_key is not None:
                from ttt.core import response_cache

                entry = await response_cache.lookup(cache_key)
                if entry is not None:
                    for event in response_cache.replay(entry, routes[0], state.started):
                        yield event
                    return
            asked = routes[0].model
            yield _route_info(routes[0], routes[0].reason, fitted)
            for round_number in range(self.config.tools.max_rounds + 1):
                reply = Reply()
                async with aclosing(self._attempt(routes, build, measured)) as attempt:
                    async for event in attempt:
                        reply.add(event)
                        state.turn.add(event)
                        yield event
                conversation.append(Message("assistant", reply.parts()))
                state.messages.append(conversation[-1])
                if not reply.calls:
                    break
                if round_number == self.config.tools.max_rounds or executor is None:
                    state.turn.finish = "max_tool_rounds" if executor else "tool_calls"
                    break
                results = await executor.run_all(reply.calls)
                for result in results:
                    state.tool_results.append(result)
                    measured.tool(result, routes[0].model)
                    log.debug("tool %s: %.3fs, %s", result.name, result.duration, result.error or "ok")
                    yield ToolResultEvent(result)
                conversation.append(Message("tool", list(results)))
                state.messages.append(conversation[-1])
        except AIError as error:
            log.debug(
                "turn failed after %.2fs: %s: %s", time.perf_counter() - state.started, error.title, error
            )
            record(measured, self.config.metrics)
            yield ErrorEvent(error)
            return
        response = state.response(routes[0], measured)
        log.debug(
            "turn done: %s in %.2fs, first token %s, tokens %d in / %d out, cost %s",
            response.model,
            response.seconds,
            "-" if response.time_to_first_token is None else f"{response.time_to_first_token:.2f}s",
            response.input_tokens,
            response.output_tokens,
            response.cost,
        )
        record(measured, self.config.metrics)
        if cache_key is not None and len(state.messages) == 1 and routes[0].model == asked:
            from ttt.core import response_cache  # one reply, no tool calls, from the model asked

            await response_cache.remember(cache_key, response)
        yield Done(response)

    def _request(
        self, route: Route, conversation: list[Message], tools: list[Any], turn: TurnOptions
    ) -> tuple[ChatRequest, ContextFit]:
        """The request for ``route``: the conversation pruned to its model's window."""
        fitted = fit(self.config, route.model, conversation, turn.max_tokens)
        sent = fitted.messages
        request = ChatRequest(
            model=route.wire_model,
            messages=sent if _sees_images(route.model) else _without_tool_images(sent),
            tools=[t.spec for t in tools],
            temperature=turn.temperature if turn.temperature is not None else self.config.temperature,
            max_tokens=turn.max_tokens if turn.max_tokens is not None else self.config.max_tokens,
            options=turn.options,
        )
        return request, fitted

    def _cache_key(self, route: Route, request: ChatRequest) -> str | None:
        """The response-cache key, when the cache is on and the request is deterministic."""
        if not self.config.sessions.cache or request.temperature != 0:
            return None
        from ttt.core.response_cache import key_for

        return key_for(route.model, request)

    async def _tools(self, turn: TurnOptions) -> tuple[list[Any], Any]:
        """The turn's tools: registry selectors, then ``mcp:`` ones (their servers start here)."""
        if not turn.tools:
            return [], None
        from ttt.core.tools.executor import ToolExecutor
        from ttt.core.tools.registry import tool_registry

        given = turn.tools if isinstance(turn.tools, list | tuple) else [turn.tools]
        selectors: list[Any] = [
            part for s in given for part in ([p.strip() for p in s.split(",")] if isinstance(s, str) else [s])
        ]
        remote = [s for s in selectors if isinstance(s, str) and s.startswith("mcp:")]
        local = [s for s in selectors if not (isinstance(s, str) and (s.startswith("mcp:") or not s))]
        tools = tool_registry.resolve(local) if local else []
        if remote:
            tools += await self.mcp_servers().tools(remote)
        return tools, ToolExecutor(tools, self.config.tools, turn.approve)

    async def _attempt(
        self,
        routes: list[Route],
        build: Callable[[Route], tuple[ChatRequest, ContextFit]],
        measured: TurnMetrics,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream from the first route that works; retry before any output, then fall back (also
        when a model is not found: another in the chain may be served).

        A route that succeeds moves to the front, so later tool rounds stay on it. Retries and
        the first-token timeout are the route's backend's (``Config.connection``).
        """
        last: AIError | None = None
        for index, route in enumerate(list(routes)):
            request, fitted = build(route)
            if last is not None:
                log.warning("falling back to %s after %s: %s", route.model, last.title.lower(), last)
                yield _route_info(route, f"fallback after {last.title.lower()}: {last}", fitted)
            backend = self.pool.get(route.backend)
            connection = self.config.connection(route.backend)
            for attempt in range(connection.retries + 1):
                produced = False
                metric = measured.start(route.backend, route.model)
                try:
                    events = _first_token_within(backend.astream(request), connection.first_token_timeout)
                    async with aclosing(events):
                        async for event in events:
                            metric.observe(event)
                            produced = produced or isinstance(
                                event, (TextDelta, ThinkingDelta, ToolCallReady)
                            )
                            yield event
                    metric.end()
                    if index:
                        routes.remove(route)
                        routes.insert(0, route)
                    return
                except AIError as error:
                    metric.end(error)
                    error.backend, error.model = route.backend, route.model
                    log.warning(
                        "%s on %s failed (attempt %d): %s", route.model, route.backend, attempt + 1, error
                    )
                    if produced or not error.falls_back:
                        raise
                    last = error
                    if (
                        not error.retryable
                        or isinstance(error, BackendNotAvailableError)
                        or attempt == connection.retries
                    ):
                        break
                    delay = _backoff(error, attempt)
                    log.debug("retrying %s in %.1fs", route.model, delay)
                    await asyncio.sleep(delay)
        assert last is not None
        raise last


async def _first_token_within(
    events: AsyncIterator[StreamEvent], seconds: float
) -> AsyncGenerator[StreamEvent, None]:
    """Pass ``events`` on, failing with a (retryable) timeout if no token comes within ``seconds``.

    ``asyncio.timeout`` cancels inside this task, so the backend's stream closes cleanly."""
    waiting = True
    try:
        while True:
            try:
                if waiting:
                    async with asyncio.timeout(seconds):
                        event = await anext(events)
                else:
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise AITimeoutError(f"No first token within {seconds:g} s (first_token_timeout).") from None
            waiting = waiting and not isinstance(
                event, (TextDelta, ThinkingDelta, ToolCallStart, ToolCallReady)
            )
            yield event
    finally:
        aclose = getattr(events, "aclose", None)  # a plugin's stream may be a plain iterator
        if aclose is not None:
            await aclose()


def _route_info(route: Route, reason: str, fitted: ContextFit) -> RouteInfo:
    return RouteInfo(route.model, route.backend, reason, fitted.tokens, fitted.window, fitted.left_out)


def _sees_images(model: str) -> bool:
    """Whether tool results may carry images to ``model``: unless it is known to lack vision."""
    info = model_registry.get(model)
    return info is None or "vision" in info.capabilities


def _without_tool_images(conversation: list[Message]) -> list[Message]:
    """The conversation with images dropped from tool results (their text still mentions them)."""
    if not any(result.images for message in conversation for result in message.tool_results):
        return conversation
    return [
        Message(m.role, [replace(p, images=[]) if isinstance(p, ToolResult) else p for p in m.parts])
        for m in conversation
    ]


def _backoff(error: AIError, attempt: int) -> float:
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), MAX_BACKOFF)
    return min(0.5 * 2**attempt, MAX_BACKOFF)


class _TurnState:
    """What a turn accumulates across its rounds, for the final ``AIResponse``."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.turn = Reply()  # every round's events, folded as one reply
        self.tool_results: list[Any] = []
        self.messages: list[Message] = []

    def response(self, route: Route, measured: TurnMetrics) -> AIResponse:
        """The turn's result. Its timings are ``ttt stats``'s: counted from when the first request
        went to the backend (routing before it is not included), the first token (text, reasoning
        or a tool call) from when the request that produced it went out."""
        folded = self.turn
        cost = folded.usage.cost
        sent = measured.requests[0].sent if measured.requests else self.started
        first = next((r.ttft for r in measured.requests if r.ttft is not None), None)
        info = model_registry.get(route.model)
        if cost is None and info is not None:
            cost = info.cost(folded.usage.input_tokens, folded.usage.output_tokens)
        return AIResponse(
            text="".join(folded.text),
            model=route.model,
            backend=route.backend,
            input_tokens=folded.usage.input_tokens,
            output_tokens=folded.usage.output_tokens,
            cost=cost,
            seconds=time.perf_counter() - sent,
            time_to_first_token=first,
            finish_reason=folded.finish,
            tool_calls=self.tool_results,
            thinking="".join(folded.thinking),
            messages=self.messages,
        )
