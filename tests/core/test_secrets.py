"""The one redactor, over a corpus of secret shapes: what logs, provider errors and notes all use."""

from __future__ import annotations

import logging

import pytest

from ttt.core.backends.error_map import map_error
from ttt.core.logs import get_logger
from ttt.core.secrets import REDACTED, redact

SECRETS = {
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5q",
    "anthropic": "sk-ant-api03-Zx8yW7vU6tS5rQ4p",
    "groq": "gsk_Q1w2E3r4T5y6U7i8O9p0",
    "google": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4",
    "xai": "xai-Pq9Rs8Tu7Vw6Xy5Z",
}
CARRIERS = [
    "Authorization: Bearer {}",
    "authorization: basic {}",
    "{{'x-api-key': '{}'}}",
    '{{"api_key": "{}"}}',
    "x-goog-api-key={}",
    "Incorrect API key provided: {}.",
    "{}",
]


@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("provider", sorted(SECRETS))
def test_every_shape_in_every_carrier_is_redacted(provider: str, carrier: str) -> None:
    text = redact(carrier.format(SECRETS[provider]))
    assert SECRETS[provider] not in text and REDACTED in text


def test_values_of_key_holding_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "plain-value-no-prefix-42")
    monkeypatch.setenv("OPENROUTER_API_KEY", "another-plain-value-7")
    text = redact("got plain-value-no-prefix-42 and another-plain-value-7")
    assert text == f"got {REDACTED} and {REDACTED}"


@pytest.mark.parametrize(
    "hint",
    [
        "No API key for openai: set OPENAI_API_KEY (export OPENAI_API_KEY=...).",
        "export ANTHROPIC_API_KEY=...",
        "Basic arithmetic, a bearer of news and a token of thanks",
        "Authorization header missing",
    ],
)
def test_hints_and_prose_stay_readable(hint: str) -> None:
    assert redact(hint) == hint


def test_logs_and_provider_errors_use_the_same_redactor(caplog: pytest.LogCaptureFixture) -> None:
    groq, google = SECRETS["groq"], SECRETS["google"]
    with caplog.at_level(logging.WARNING, logger="ttt"):
        get_logger("test").warning("bad key %s then %s", groq, google)
    assert groq not in caplog.text and google not in caplog.text
    error = map_error(
        RuntimeError(f"rejected {groq} / Authorization: Basic dXNlcjpwYXNz"), backend="cloud", model="m"
    )
    assert groq not in error.message and "dXNlcjpwYXNz" not in error.message
