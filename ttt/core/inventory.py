"""What every backend offers right now: models and status, asked of all backends at once.

Shared by ``ttt models``/``ttt status`` and the TUI's model picker. One slow or broken backend
never hides the others: each answer has a time limit and failures are reported per backend.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ttt.core.backends.base import Backend, BackendStatus
from ttt.core.config import Config
from ttt.core.models import ModelInfo
from ttt.core.routing import BackendPool, Route, Router

TIMEOUT = 10.0  # generous: a backend may import its client (seconds on a busy machine) first


async def _gather(config: Config, method: str) -> list[tuple[str, Any]]:
    pool = BackendPool(config)

    async def one(name: str) -> tuple[str, Any]:
        try:
            return name, await asyncio.wait_for(getattr(pool.get(name), method)(), TIMEOUT)
        except Exception as exc:
            return name, exc

    try:
        return list(await asyncio.gather(*(one(name) for name in Backend.names())))
    finally:
        await pool.aclose()


async def list_models(config: Config) -> list[ModelInfo]:
    """Every model of every backend with its aliases, available ones first."""
    router = Router(config, BackendPool(config))
    models: dict[str, ModelInfo] = {}
    for name, result in await _gather(config, "models"):
        if isinstance(result, Exception):
            continue
        for info in result:
            info.backend = info.backend or name
            info.aliases = router.aliases_for(info.name)
            models.setdefault(info.name, info)
    return sorted(models.values(), key=lambda m: (not m.available, m.backend, m.name))


async def backend_statuses(config: Config) -> list[BackendStatus]:
    statuses = []
    for name, result in await _gather(config, "status"):
        if isinstance(result, Exception):
            result = BackendStatus(name, False, f"status check failed: {type(result).__name__}: {result}")
        statuses.append(result)
    return statuses


async def default_route(config: Config) -> Route:
    """Where a request that names no model goes (the config's model, else what is set up), so
    ``ttt status`` says what ``ttt -p`` will use; raises the AIError such a request would get."""
    pool = BackendPool(config)
    try:
        return await Router(config, pool).resolve()
    finally:
        await pool.aclose()
