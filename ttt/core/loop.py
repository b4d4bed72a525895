"""A private event loop on a daemon thread, so the sync API works anywhere.

Sync calls (``ask``, ``stream``, ``chat``) run their coroutines here: they never call
``asyncio.run`` on the caller's thread, so they work inside Jupyter or any running loop, and
the backends' HTTP clients live on one loop and are reused across calls.

Two ways this could hang forever are refused instead: a forked child inherits the loop but not
its thread (the child gets a loop of its own on first use), and a sync call made on the loop's
own thread (an async ``@tool`` calling ``ask``) would wait for a loop it is blocking.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_lock = threading.Lock()


def _forget_after_fork() -> None:
    """In a forked child: the loop's thread did not come along, and the lock may be held."""
    global _loop, _thread, _lock
    _loop, _thread, _lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="ttt-loop", daemon=True)
            _thread.start()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the background loop and wait for it; Ctrl-C cancels it."""
    loop = background_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError(
            "ttt's sync API (ask, stream, chat) was called on ttt's own event loop, e.g. from an "
            "async @tool, where it would wait forever: use `await ttt.ask_async(...)` (or "
            "stream_async, achat) there, or make the tool a plain def."
        )
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async generator from sync code, one item at a time on the background loop."""
    try:
        while True:
            try:
                yield run_sync(agen.__anext__())  # type: ignore[arg-type]
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            run_sync(aclose())
