"""The one redactor: what counts as a secret in text ttt writes (logs, errors, notes), and
``redact`` that replaces each with ``[REDACTED]``.

A secret is the value of a key-holding environment variable (the providers' and any
``*_KEY``/``*_TOKEN``/``*_SECRET``/``*_PASSWORD``), a provider key by its shape (``sk-…``,
``gsk_…``, ``AIza…``, ``xai-…``), or a credential in a header or field (``Authorization: Bearer
…``/``Basic …``, ``x-api-key``, ``"api_key": …``). A hint such as ``export OPENAI_API_KEY=...``
is no secret and stays readable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"(_KEY|_TOKEN|_SECRET|_PASSWORD|APIKEY)$|^AWS_ACCESS_KEY_ID$", re.IGNORECASE)
_MIN_SECRET = 8  # shorter values are too likely to be ordinary words
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    # header or field with a credential: Authorization: Bearer x / "api_key": "x" / x-api-key=x
    (
        re.compile(
            r"((?:proxy-)?authorization|x-api-key|api[_-]?key|x-goog-api-key)(['\"]?\s*[:=]\s*['\"]?)"
            # a value has a letter or digit: `export OPENAI_API_KEY=...` in a hint is no secret
            r"(?:(bearer|basic|token)\s+)?(?=[^\s'\",;}]*[A-Za-z0-9])[^\s'\",;}]+",
            re.IGNORECASE,
        ),
        lambda m: f"{m[1]}{m[2]}{m[3] + ' ' if m[3] else ''}{REDACTED}",
    ),
    (
        re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE),
        lambda m: f"{m[1]} {REDACTED}",
    ),
    # provider keys by their prefix: OpenAI/Anthropic/DeepSeek, Groq, Google, xAI
    (
        re.compile(
            r"\b(?:sk-[A-Za-z0-9_*.-]{6,}|gsk_[A-Za-z0-9]{10,}|AIza[0-9A-Za-z_-]{20,}|xai-[A-Za-z0-9]{10,})"
        ),
        lambda m: REDACTED,
    ),
]


def secret_values() -> list[str]:
    """Values of environment variables that hold keys, longest first."""
    from ttt.core.models import PROVIDER_KEYS

    names = set(PROVIDER_KEYS.values()) | {n for n in os.environ if _SECRET_NAME.search(n)}
    values = {os.environ.get(n, "") for n in names}
    return sorted((v for v in values if len(v) >= _MIN_SECRET), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[REDACTED]``."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
