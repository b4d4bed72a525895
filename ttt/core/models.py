"""The model registry: what ttt knows about models before asking any backend.

Built-in entries are a small, current list for aliases and routing; users add their own with
``model_registry.add_model(...)`` or ``[models.<name>]`` tables in the config.
"""

from __future__ import annotations

import builtins
import difflib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ttt.core.config import Config
    from ttt.core.config_sections import ModelConfig

# The environment variable that holds each provider's key (LiteLLM's names).
PROVIDER_KEYS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "xai": "XAI_API_KEY",
    "cohere": "COHERE_API_KEY",
    "bedrock": "AWS_ACCESS_KEY_ID",
}

# Providers that speak the OpenAI protocol: served by the `openai` client, not LiteLLM.
OPENAI_PROTOCOL: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "together_ai": "https://api.together.xyz/v1",
    "xai": "https://api.x.ai/v1",
}


@dataclass
class ModelInfo:
    """What we know of a model. ``name`` is the full route string, e.g. ``openai/gpt-4o-mini``."""

    name: str
    provider: str
    capabilities: list[str] = field(default_factory=lambda: ["text"])
    context_length: int = 8192
    input_price: float | None = None  # USD per million input tokens
    output_price: float | None = None  # USD per million output tokens
    backend: str = ""
    available: bool | None = None  # None: not checked
    aliases: list[str] = field(default_factory=list)

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        if self.input_price is None or self.output_price is None:
            return None
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1_000_000


def _m(
    name: str, caps: str, ctx: int, price_in: float | None = None, price_out: float | None = None
) -> ModelInfo:
    return ModelInfo(name, name.split("/", 1)[0], caps.split(), ctx, price_in, price_out)


BUILTIN_MODELS: list[ModelInfo] = [
    _m("openai/gpt-4.1", "text code vision tools", 1_047_576, 2.0, 8.0),
    _m("openai/gpt-4.1-mini", "text code vision tools", 1_047_576, 0.4, 1.6),
    _m("openai/gpt-4o-mini", "text code vision tools", 128_000, 0.15, 0.6),
    _m("openai/o4-mini", "text code vision tools reasoning", 200_000, 1.1, 4.4),
    _m("anthropic/claude-sonnet-4-5", "text code vision tools reasoning", 200_000, 3.0, 15.0),
    _m("anthropic/claude-haiku-4-5", "text code vision tools", 200_000, 1.0, 5.0),
    _m("anthropic/claude-opus-4-1", "text code vision tools reasoning", 200_000, 15.0, 75.0),
    _m("gemini/gemini-2.5-pro", "text code vision tools reasoning", 1_048_576, 1.25, 10.0),
    _m("gemini/gemini-2.5-flash", "text code vision tools", 1_048_576, 0.3, 2.5),
    _m("openrouter/openai/gpt-4o-mini", "text code vision tools", 128_000, 0.15, 0.6),
    _m("groq/llama-3.3-70b-versatile", "text code tools", 131_072, 0.59, 0.79),
    _m("deepseek/deepseek-chat", "text code tools", 64_000, 0.27, 1.1),
    _m("ollama/llama3.2", "text tools", 131_072),
    _m("ollama/qwen2.5-coder", "text code tools", 32_768),
    _m("ollama/llava", "text vision", 4_096),
    _m("llamacpp/smollm2", "text", 8_192),
]

BUILTIN_ALIASES: dict[str, str] = {
    "fast": "openai/gpt-4o-mini",
    "best": "anthropic/claude-sonnet-4-5",
    "cheap": "gemini/gemini-2.5-flash",
    "coding": "anthropic/claude-sonnet-4-5",
    "local": "ollama/llama3.2",
    "offline": "llamacpp/smollm2",
    "gpt": "openai/gpt-4.1",
    "claude": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-pro",
}


class ModelRegistry:
    """Known models by name; ``add_model`` is the extension point.

    Models from the config's ``[models.<name>]`` tables are a separate layer over built-in and
    added ones, replaced as a whole when the config changes (``use_config``).
    """

    def __init__(self, models: list[ModelInfo]) -> None:
        self._models: dict[str, ModelInfo] = {m.name: m for m in models}
        self._configured: dict[str, ModelInfo] = {}

    def add_model(self, info: ModelInfo) -> None:
        self._models[info.name] = info

    def remove_model(self, name: str) -> None:
        self._models.pop(name, None)

    def get(self, name: str) -> ModelInfo | None:
        return self._configured.get(name) or self._models.get(name)

    def list(self) -> builtins.list[ModelInfo]:
        return list({**self._models, **self._configured}.values())

    def close_matches(self, name: str, extra: builtins.list[str] | None = None) -> builtins.list[str]:
        names = [*self._models, *self._configured, *(extra or [])]
        return difflib.get_close_matches(name, list(dict.fromkeys(names)), n=3, cutoff=0.5)

    def use_config(self, config: Config) -> None:
        """Make the config's model tables the configured layer (unset fields keep known values)."""
        self._configured = {name: self.with_table(name, table) for name, table in config.models.items()}

    def with_table(self, name: str, table: ModelConfig) -> ModelInfo:
        """A built-in or added model (or a new one) with a ``[models.<name>]`` table applied."""
        return apply_table(self._models.get(name) or ModelInfo(name, name.split("/", 1)[0]), table)


def apply_table(known: ModelInfo, table: ModelConfig) -> ModelInfo:
    """``known`` with the fields a ``[models.<name>]`` table sets on top (the user's word wins)."""
    return replace(
        known,
        provider=table.provider or known.provider,
        capabilities=list(known.capabilities if table.capabilities is None else table.capabilities),
        context_length=known.context_length if table.context_length is None else table.context_length,
        input_price=known.input_price if table.input_price is None else table.input_price,
        output_price=known.output_price if table.output_price is None else table.output_price,
    )


model_registry = ModelRegistry(BUILTIN_MODELS)
