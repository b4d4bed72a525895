"""Entry-point plugins (backends, config loaders, tools), found with one scan per process.

``importlib.metadata.entry_points()`` reads every installed distribution on each call
(slow in a full environment); a run needs several groups, so the scan is kept, keyed on
``sys.path`` so that a directory added at run time is still seen.
"""

from __future__ import annotations

import functools
import sys
from importlib.metadata import EntryPoints, entry_points
from typing import cast


def plugin_entry_points(group: str) -> EntryPoints:
    """The entry points of ``group`` among the installed distributions."""
    return _scan(tuple(sys.path)).select(group=group)


@functools.cache
def _scan(search_path: tuple[str, ...]) -> EntryPoints:
    return cast(EntryPoints, entry_points())  # 3.11 typeshed still offers the old dict-like form
