"""Smart routing for ``-m auto``: a model chosen per request by rules kept in the config.

The choice is deterministic: the same request, config and usable models give the same route.
Hard constraints hold for every candidate: a private (or offline) request stays on local
backends, images need the ``vision`` capability, and what pruning can't leave out (the system
prompt and the newest turn) must fit the model's window; models that fit the whole conversation
come before those that would leave older turns out. Rules (``[[routing.rules]]``) are tried in order; one that applies offers its preferred
models, then any other usable model with the capabilities it requires. Then comes the default,
then any usable model that fits. The first candidate answers and the next ones are its fallback
chain; each carries its reason in ``Route.reason`` (``--explain``, the TUI status line).
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import replace

from ttt.core.backends.base import Backend
from ttt.core.config import Config
from ttt.core.config_sections import RoutingRule
from ttt.core.context import reply_room
from ttt.core.errors import AIError, BackendNotAvailableError, ConfigurationError, InvalidRequestError
from ttt.core.logs import get_logger
from ttt.core.models import ModelInfo
from ttt.core.routing import AUTO, HOW_TO_CONNECT, LOCAL_BACKENDS, Features, Route, Router, known

log = get_logger("routing")

MODELS_CACHE_SECONDS = 30.0  # how long the list of usable models is reused
LIST_TIMEOUT = 10.0  # per backend, when listing usable models
MAX_CHAIN = 4  # candidates from smart routing (configured fallbacks come after them)
UNKNOWN_WINDOW = sys.maxsize  # a model we know nothing about is assumed to fit

_usable_cache: weakref.WeakKeyDictionary[object, tuple[float, dict[str, ModelInfo]]] = (
    weakref.WeakKeyDictionary()
)


# --- the plan: pure, no I/O -----------------------------------------------------------------------


def unfit(info: ModelInfo, feats: Features, config: Config, tokens: int | None = None) -> str | None:
    """Why ``info`` can't take this request (of ``tokens``, by default the whole input), or None."""
    if feats.private and info.backend not in LOCAL_BACKENDS:
        return f"{info.name} is not local"
    if feats.images and "vision" not in info.capabilities:
        return f"{info.name} can't read images"
    needed = (feats.tokens if tokens is None else tokens) + reply_room(config)
    if needed > info.context_length:
        return f"~{needed:,} tokens don't fit {info.name}'s {info.context_length:,}-token window"
    return None


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str, rule: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigurationError(
            f"routing rule '{rule}': pattern is not a valid regular expression: {exc}"
        ) from None


def applies(rule: RoutingRule, feats: Features) -> str | None:
    """Why ``rule`` applies to the request (its conditions all hold), or None."""
    why: list[str] = []
    if rule.pattern:
        if not _compiled(rule.pattern, rule.name).search(feats.prompt):
            return None
        why.append("the prompt matches its pattern")
    if rule.images:
        if not feats.images:
            return None
        why.append(f"{feats.images} image{'s' if feats.images > 1 else ''} attached")
    if rule.private:
        if not feats.private:
            return None
        why.append(feats.why_private)
    return ", ".join(why) or "it always applies"


def _rank(info: ModelInfo) -> tuple[float, int, str]:
    """Cheapest first (local models are free), then the larger window, then by name."""
    return (info.input_price or 0.0, -info.context_length, info.name)


def plan(
    feats: Features,
    usable: Mapping[str, ModelInfo],
    default: str | None,
    config: Config,
    expand: Callable[[str], str] = lambda name: name,
) -> list[tuple[str, str]]:
    """The candidates in order, each with the reason it was chosen."""
    chain: dict[str, str] = {}
    skipped: list[str] = []
    pruned: dict[str, str] = {}  # models that fit only once older turns are left out
    ranked = sorted(usable.values(), key=_rank)

    def offer(info: ModelInfo, reason: str) -> bool:
        """Add ``info`` unless it can't take the request; its reason tells what was passed over."""
        problem = unfit(info, feats, config)
        if problem:
            if problem not in skipped:
                skipped.append(problem)
            if unfit(info, feats, config, feats.floor) is None:
                pruned.setdefault(info.name, reason)
            return False
        chain.setdefault(info.name, reason + (f" ({'; '.join(skipped[:2])})" if skipped else ""))
        return True

    for rule in config.routing.rules:
        why = applies(rule, feats)
        if why is None:
            continue
        capable = [m for m in ranked if all(c in m.capabilities for c in rule.require)]
        head = f"auto: rule '{rule.name}' ({why})"
        offered = False
        for wanted in map(expand, rule.prefer):
            info = next((m for m in capable if m.name == wanted), None)
            offered = (info is not None and offer(info, f"{head} → preferred {wanted}")) or offered
        need = f"with {', '.join(rule.require)}" if rule.require else "that fits"
        for info in capable:
            offered = offer(info, f"{head} → {info.name}, a usable model {need}") or offered
        if not offered:
            skipped.append(f"rule '{rule.name}' applies but no usable model meets it")
    if default and default in usable:
        offer(usable[default], f"auto: no rule chose a model → the default, {default}")
    for info in ranked:
        offer(info, f"auto: → {info.name}, a usable model that fits")
    for name, reason in pruned.items():
        chain.setdefault(name, f"{reason} (older turns left out to fit its window)")
    return list(chain.items())


def no_candidate(feats: Features, usable: Mapping[str, ModelInfo], config: Config) -> AIError:
    """The clearest error when nothing can take the request."""
    models = list(usable.values())
    if not models:
        return BackendNotAvailableError(HOW_TO_CONNECT)
    if feats.private and not any(m.backend in LOCAL_BACKENDS for m in models):
        return ConfigurationError(
            f"This request is private ({feats.why_private}), but no local model is usable: start "
            "Ollama or install the bundled model."
        )
    if feats.images and not any("vision" in m.capabilities for m in models):
        return InvalidRequestError(
            "No usable model can read images (none has the 'vision' capability); set up one such as "
            "openai/gpt-4o-mini or ollama/llava, or declare one in [models.<name>]."
        )
    biggest = max(models, key=lambda m: m.context_length)
    return InvalidRequestError(
        f"The newest prompt (~{feats.floor:,} tokens) fits no usable model that meets the request; the largest "
        f"window is {biggest.name}'s {biggest.context_length:,} tokens. Shorten it or attach less."
    )


# --- against the backends -------------------------------------------------------------------------


async def usable_models(router: Router) -> dict[str, ModelInfo]:
    """Every model some backend can serve now, merged with what the registry knows (cached)."""
    cached = _usable_cache.get(router.pool)
    if cached is not None and time.monotonic() - cached[0] < MODELS_CACHE_SECONDS:
        return cached[1]
    config = router.config
    names = [n for n in Backend.names() if not config.offline or n in LOCAL_BACKENDS]

    async def listed(name: str) -> list[ModelInfo]:
        try:
            return await asyncio.wait_for(router.pool.get(name).models(), LIST_TIMEOUT)
        except Exception as exc:  # one broken backend never hides the others
            log.warning("listing %s models failed: %s", name, exc or type(exc).__name__)
            return []

    found: dict[str, ModelInfo] = {}
    for name, infos in zip(names, await asyncio.gather(*(listed(n) for n in names)), strict=True):
        for info in infos:
            if info.available is True and info.name not in found:
                base = known(config, info.name) or info
                found[info.name] = replace(base, backend=info.backend or name, available=True)
    _usable_cache[router.pool] = (time.monotonic(), found)
    return found


async def _default(router: Router) -> Route | None:
    """The model used when no rule applies: ``routing.default``, a set model, else the usual."""
    config = router.config
    named = [n for n in (config.routing.default, config.model) if n and router.expand_alias(n) != AUTO]
    try:
        return await router.resolve(named[0]) if named else await router.default_route()
    except AIError as error:  # then the rules and the usable models decide alone
        log.warning("auto: the default model is not usable: %s", error)
        return None


async def auto_routes(router: Router, feats: Features) -> list[Route]:
    """The routes for an ``auto`` request: the choice first, then its fallbacks."""
    config = router.config
    usable = dict(await usable_models(router))
    default = await _default(router)
    if default is not None and default.model not in usable and known(config, default.model) is None:
        # a model no backend lists and the registry doesn't know: trust the config that names it
        info = ModelInfo(default.model, default.model.split("/")[0], context_length=UNKNOWN_WINDOW)
        usable[default.model] = replace(info, backend=default.backend, available=True)
    chosen = plan(feats, usable, default.model if default else None, config, router.expand_alias)
    routes: list[Route] = []
    for name, reason in chosen[:MAX_CHAIN]:
        try:
            route = await router.resolve(name)
        except AIError as error:
            log.debug("auto: %s does not resolve: %s", name, error)
            continue
        route.reason = reason
        routes.append(route)
    if not routes:
        raise no_candidate(feats, usable, config)
    for fallback in config.fallbacks:
        try:
            route = await router.resolve(fallback)
        except AIError:
            continue
        if all(route.model != r.model for r in routes) and await problem(router, route, feats) is None:
            route.reason = f"fallback from {routes[0].model}"
            routes.append(route)
    log.debug("auto routes: %s", [(r.model, r.reason) for r in routes])
    return routes


async def capabilities(router: Router, route: Route) -> list[str] | None:
    """What ``route``'s model can do: known from the registry or its backend; None if unknown."""
    info = known(router.config, route.model)
    if info is not None:
        return info.capabilities
    try:
        listed = await asyncio.wait_for(router.pool.get(route.backend).models(), LIST_TIMEOUT)
    except Exception:
        return None
    return next((m.capabilities for m in listed if m.name == route.model), None)


async def problem(router: Router, route: Route, feats: Features) -> AIError | None:
    """Why an explicitly named model can't take this request, or None."""
    if feats.private and route.backend not in LOCAL_BACKENDS:
        return ConfigurationError(
            f"This request is private ({feats.why_private}), but '{route.model}' is a cloud model: "
            "use a local model (ollama/..., llamacpp/...) or -m auto."
        )
    if feats.images:
        caps = await capabilities(router, route)
        if caps is not None and "vision" not in caps:
            return InvalidRequestError(
                f"'{route.model}' can't read images (it has no 'vision' capability): use a vision "
                "model such as openai/gpt-4o-mini or ollama/llava, or -m auto to pick one."
            )
    return None
