"""What of a conversation a model sees: the newest turns that fit its context window.

The engine prunes each route's request with ``fit`` once the route has fixed the model (an alias,
``auto``, the default model and each fallback alike); the app's context meter shows the same
figures. A model whose window nobody knows (e.g. an Ollama model the registry lacks and the config
doesn't declare in ``[models.<name>]``) is sent the whole conversation: the provider is the judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ttt.core.config import Config
from ttt.core.routing import known
from ttt.core.tokens import count_tokens, prune
from ttt.core.types import Message


@dataclass
class ContextFit:
    """A conversation fitted to one model."""

    messages: list[Message]  # what is sent
    tokens: int  # their estimated size
    window: int | None  # the model's context window; None when unknown
    left_out: int = 0  # the oldest messages not sent


def window_of(config: Config, model: str) -> int | None:
    info = known(config, model)
    return info.context_length if info is not None else None


def reply_room(config: Config, max_tokens: int | None = None) -> int:
    """Tokens kept free for the reply: its ``max_tokens``, else ``routing.reply_tokens``."""
    return max_tokens or config.max_tokens or config.routing.reply_tokens


def fit(config: Config, model: str, messages: Sequence[Message], max_tokens: int | None = None) -> ContextFit:
    """``messages`` pruned to ``model``'s window, leaving room for the reply."""
    window = window_of(config, model)
    if window is None:
        return ContextFit(list(messages), count_tokens(messages), None)
    kept, left_out = prune(messages, window - reply_room(config, max_tokens))
    return ContextFit(kept, count_tokens(kept), window, left_out)
