"""One open ``Store`` per process for background work: metrics and the response cache.

Opening a store costs a few milliseconds and file handles, so these writers share one, kept for
the database in use (``TTT_HOME`` may move it; the old one is closed then). ``Store`` is
thread-safe, so the metrics thread and the event loop's worker threads can both use it.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from ttt.core.session.store import Store

_lock = threading.Lock()
_open: dict[Path, Store] = {}


def shared_store(path: Path) -> Store:
    """The process's store for ``path``, opened on first use."""
    with _lock:
        store = _open.get(path)
        if store is None:
            for old in _open.values():
                old.close()
            _open.clear()
            store = _open[path] = Store(path)
        return store


def close_shared_stores() -> None:
    """Close the shared store (at exit; a later use opens it again)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()


atexit.register(close_shared_stores)
