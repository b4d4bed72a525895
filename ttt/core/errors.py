"""Every error ttt raises on purpose, in one tree; all are ``AIError``.

Each error has a short ``title`` and a one-line ``message`` that says what to do; that is all a
user ever sees (no traceback). ``exit_code`` is what the CLI returns for it (2: the user's
setup or request, 1: anything else). ``retryable`` and ``falls_back`` tell the engine whether
another attempt, or the next model of a fallback chain, may succeed.

    AIError
    ├── APIKeyError                 a key is missing or refused (exit 2)
    ├── ModelNotFoundError          the backend does not serve that model (falls back)
    ├── BackendNotAvailableError    can't reach the backend (retryable)
    ├── RateLimitError              the provider said slow down (retryable)
    ├── ProviderError               5xx, a dropped or malformed stream (retryable)
    ├── AITimeoutError              no answer in time (retryable)
    ├── CertificateError            the server's TLS certificate can't be verified
    ├── ToolExecutionError          a tool failed
    ├── ConfigurationError          the config is wrong (exit 2)
    ├── InvalidRequestError         the request itself is wrong (exit 2)
    ├── SessionFileError            a session file that can't be imported (exit 2)
    └── StoreError                  the session database can't be used, or lacks what was asked
        ├── SessionNotFoundError    no such session
        └── SchemaTooNewError       the database is from a newer ttt (reported as a StoreError)
"""

from __future__ import annotations

from pathlib import Path


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


class SessionFileError(AIError):
    """A session file that can't be read: malformed JSON, another format, an unknown version."""

    title = "Invalid session file"
    exit_code = 2


class StoreError(AIError):
    """The session store failed or lacks what was asked; ``path`` names a file it can't use."""

    title = "Session store error"

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class SessionNotFoundError(StoreError):
    title = "Session not found"


class SchemaTooNewError(StoreError):
    """The database was written by a newer ttt; the caller reports it and touches nothing."""

    def __init__(self, found: int, latest: int) -> None:
        super().__init__(f"schema version {found} is newer than {latest}")
        self.found = found
        self.latest = latest
