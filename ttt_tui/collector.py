"""Keep Python's full garbage collections out of the frames that must be fast.

A full collection walks every tracked object: ~60 ms for what start-up leaves alive, more with
a long reply on screen (bench/bench_tui.py), and one landing mid-stream holds up that frame and
any key pressed with it. So what is alive once the first screen is up (modules, classes, that
screen) is frozen out of collections for good, and while a reply streams only the young
generations are collected; the full one runs again after the reply's last frame. Textual does
the same, more bluntly, around smooth scrolling (``App.PAUSE_GC_ON_SCROLL``).
"""

from __future__ import annotations

import gc

_THRESHOLDS = gc.get_threshold()


def freeze_startup_objects() -> None:
    gc.freeze()


def pause_full_collections() -> None:
    young, middle, _ = _THRESHOLDS
    gc.set_threshold(young, middle, 1 << 30)


def resume_full_collections() -> None:
    gc.set_threshold(*_THRESHOLDS)
