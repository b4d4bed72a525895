"""What the app remembers between runs (the theme) in a private state file in the data dir.

It stays out of the user's config file, which only the user (or ``ttt config set``) edits.
A missing or damaged state file means nothing is remembered, never a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from ttt.core.config import paths


def state_path() -> Path:
    return paths().data_dir / "state.json"


def load_state() -> dict[str, Any]:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(key: str, value: Any) -> None:
    """Write ``key`` into the state file, atomically and private (0600); failures are ignored."""
    path = state_path()
    data = {**load_state(), key: value}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
