"""The error hierarchy. Every provider, client and config failure becomes one of these.

Each error has a short ``title`` and a one-line ``message`` that says what to do; that is all a
user ever sees (no traceback). ``exit_code`` is what the CLI returns for it.
"""

from __future__ import annotations


class AIError(Exception):
    title = "Error"
    exit_code = 1

    def __init__(self, message: str, *, backend: str = "", model: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.backend = backend
        self.model = model
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Worth trying again or falling back to another model."""
        return False

    @property
    def falls_back(self) -> bool:
        """Worth trying the next model of a fallback chain, even if not this one again."""
        return self.retryable

    def __str__(self) -> str:
        return self.message


class APIKeyError(AIError):
    """A key is missing or refused: the user's setup, so exit 2 like other configuration errors."""

    title = "API key missing or invalid"
    exit_code = 2


class ModelNotFoundError(AIError):
    title = "Model not found"

    @property
    def falls_back(self) -> bool:
        """Another model of the chain may be served where this one is not."""
        return True


class BackendNotAvailableError(AIError):
    title = "Backend not available"

    @property
    def retryable(self) -> bool:
        return True


class RateLimitError(AIError):
    title = "Rate limited"

    @property
    def retryable(self) -> bool:
        return True


class ProviderError(AIError):
    """The provider failed (5xx, a dropped or malformed stream)."""

    title = "Provider error"

    @property
    def retryable(self) -> bool:
        return True


class AITimeoutError(AIError):
    title = "Timed out"

    @property
    def retryable(self) -> bool:
        return True


class CertificateError(AIError):
    """The server's TLS certificate can't be verified (unknown CA, wrong name, expired)."""

    title = "Untrusted certificate"


class ToolExecutionError(AIError):
    title = "Tool failed"


class ConfigurationError(AIError):
    title = "Configuration error"
    exit_code = 2


class InvalidRequestError(AIError):
    """The request itself is wrong (bad parameter, input too long, unsupported attachment)."""

    title = "Invalid request"
    exit_code = 2
