"""The library API: ``ask``, ``stream``, ``chat``, ``compare`` and their async twins, over the one engine."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import aclosing
from os import PathLike
from typing import TYPE_CHECKING, Any

from ttt.core.config import Config, apply, load_config
from ttt.core.errors import AIError
from ttt.core.loop import iterate_sync, run_sync
from ttt.core.models import model_registry
from ttt.core.types import AIResponse, Done, ErrorEvent, Message, StreamEvent, TextDelta, TurnOptions

if TYPE_CHECKING:  # the engine (routing, backends) loads with the first request, not with the config
    from ttt.core.engine import Engine

_overrides: dict[str, Any] = {}
_config: Config | None = None
_closing: set[asyncio.Task[None]] = set()
_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine] = weakref.WeakKeyDictionary()


def configure(**settings: Any) -> Config:
    """Program-level settings (highest precedence); they apply from the next request on."""
    candidate = apply(load_config(), {**_overrides, **settings})
    _overrides.update(settings)
    return _use(candidate)


def get_config() -> Config:
    return _config if _config is not None else _use(load_config(_overrides))


def reload_config() -> Config:
    """Re-read the config files and loaders, keeping program settings; the next request uses the
    result. An invalid file raises ``ConfigurationError`` and the current config stays (the TUI
    polls ``config.files_signature()`` and calls this when it changes)."""
    return _use(load_config(_overrides))


def _use(config: Config) -> Config:
    """Make a validated config the current one (its model tables join the registry)."""
    global _config
    _config = config
    model_registry.use_config(config)
    return config


def reset() -> None:
    """Forget program settings and cached config (tests, or after editing config files)."""
    global _config
    _overrides.clear()
    _config = None


def current_engine() -> Engine:
    """The engine of the running event loop, rebuilt when the config changed."""
    from ttt.core.engine import Engine

    loop = asyncio.get_running_loop()
    config = get_config()
    engine = _engines.get(loop)
    if engine is None or engine.config is not config:
        if engine is not None:
            _closing.add(task := loop.create_task(engine.aclose()))
            task.add_done_callback(_closing.discard)
        engine = _engines[loop] = Engine(config)
    return engine


async def close_engine() -> None:
    """Close the running loop's engine (its clients, and any server it started) before the loop
    ends; a later request builds a new one."""
    engine = _engines.pop(asyncio.get_running_loop(), None)
    if engine is not None:
        await engine.aclose()


def build_messages(
    prompt: str | None, system: str | None, history: Sequence[Message] = (), images: Sequence[Any] = ()
) -> list[Message]:
    messages: list[Message] = []
    system = get_config().system if system is None else system
    if system and not any(m.role == "system" for m in history):
        messages.append(Message.system(system))
    messages.extend(history)
    if prompt is not None:
        messages.append(Message.user(prompt, list(images)))
    return messages


async def events_async(
    prompt: str | None = None,
    turn: TurnOptions | None = None,
    *,
    system: str | None = None,
    history: Sequence[Message] = (),
    attachments: Sequence[str | PathLike[str]] = (),
    **settings: Any,
) -> AsyncGenerator[StreamEvent, None]:
    """Every event of one turn (the lowest-level public entry).

    ``turn`` and keyword ``settings`` (``model=``, ``tools=``, ...) are a ``TurnOptions``, as
    ``ChatSession.events`` takes them. ``attachments`` are file paths: images go to the model as
    images, text files into the prompt. ``private=True`` keeps the request on local models."""
    turn = TurnOptions.of(turn, **settings)
    messages = build_messages(prompt, system, history)
    if attachments and prompt is not None:
        from ttt.core.attachments import user_message

        try:
            messages[-1] = await asyncio.to_thread(
                user_message, prompt, attachments, get_config().attachments
            )
        except AIError as error:
            yield ErrorEvent(error)
            return
    async with aclosing(current_engine().run(messages, turn)) as events:  # closed even if abandoned
        async for event in events:
            yield event


async def ask_async(prompt: str, **kwargs: Any) -> AIResponse:
    """Ask once and return the whole response; raises an ``AIError`` on failure."""
    async for event in events_async(prompt, **kwargs):
        if isinstance(event, Done):
            return event.response
        if isinstance(event, ErrorEvent):
            raise event.error
    raise RuntimeError("the engine ended a turn without a result")


class AsyncTextStream:
    """Text chunks as they arrive; ``response`` is set once the stream is finished."""

    def __init__(self, events: AsyncIterator[StreamEvent]) -> None:
        self._events = events
        self.response: AIResponse | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._text()

    async def _text(self) -> AsyncIterator[str]:
        async for event in self._events:
            if isinstance(event, TextDelta):
                yield event.text
            elif isinstance(event, Done):
                self.response = event.response
            elif isinstance(event, ErrorEvent):
                raise event.error


class TextStream:
    """The sync twin of ``AsyncTextStream``."""

    def __init__(self, events: AsyncIterator[StreamEvent]) -> None:
        self._stream = AsyncTextStream(events)

    @property
    def response(self) -> AIResponse | None:
        return self._stream.response

    def __iter__(self) -> Iterator[str]:
        return iterate_sync(self._stream.__aiter__())


def stream_async(prompt: str, **kwargs: Any) -> AsyncTextStream:
    return AsyncTextStream(events_async(prompt, **kwargs))


def ask(prompt: str, **kwargs: Any) -> AIResponse:
    """Ask once; works in plain scripts and inside a running event loop (e.g. Jupyter)."""
    return run_sync(ask_async(prompt, **kwargs))


def stream(prompt: str, **kwargs: Any) -> TextStream:
    """Yield the reply's text as it arrives; ``.response`` holds the details afterwards."""
    return TextStream(events_async(prompt, **kwargs))


def chat(**kwargs: Any) -> Any:
    """A conversation with memory, usable as a context manager.

    ``chat(session_id=...)`` resumes a stored session; ``chat(persist=True)`` stores a new one.
    """
    from ttt.core.session.chat import open_chat

    return open_chat(**kwargs)


def achat(**kwargs: Any) -> Any:
    """The async twin of ``chat`` (``async with achat() as session``)."""
    from ttt.core.session.chat import open_chat

    return open_chat(**kwargs)


async def compare_async(
    prompt: str, models: str | Sequence[str], **kwargs: Any
) -> list[AIResponse | AIError]:
    """Ask two to four models the same prompt at once: one result per model, in order, its
    response or its error (one failing or slow never holds up the others). ``session=`` a
    ``PersistentChatSession`` stores every reply, side by side as branches of the prompt."""
    from ttt.core.comparison import run_comparison

    return [entry.result for entry in await run_comparison(prompt, models, **kwargs)]


def compare(prompt: str, models: str | Sequence[str], **kwargs: Any) -> list[AIResponse | AIError]:
    """The sync twin of ``compare_async``; works inside a running event loop too."""
    return run_sync(compare_async(prompt, models, **kwargs))
