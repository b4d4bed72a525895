"""One place that turns every client exception into a ttt ``AIError``.

Both backends call ``map_error``; the ollama, openai and LiteLLM clients (and the httpx / httpx2
transports under them) raise very different things for the same failure, and a user should see
one line saying what to do, never a traceback and never a key. Client modules are looked up in
``sys.modules`` only: mapping an error must not import LiteLLM (seconds) or anything else.
"""

from __future__ import annotations

import email.utils
import json
import re
import ssl
import sys
import time
from collections.abc import Iterator
from typing import Any

from ttt.core.errors import (
    AIError,
    AITimeoutError,
    APIKeyError,
    BackendNotAvailableError,
    CertificateError,
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
)
from ttt.core.secrets import redact
from ttt.core.text import shorten

_MAX_DETAIL = 200


def _one_line(text: str) -> str:
    return shorten(redact(text), _MAX_DETAIL)


def _cls(module: str, *path: str) -> type | tuple[()]:
    """A class from an already-imported module, or ``()`` (which ``isinstance`` never matches)."""
    found: Any = sys.modules.get(module)
    for name in path:
        found = getattr(found, name, None)
    return found if isinstance(found, type) else ()


def _of(exc: BaseException, name: str, modules: tuple[str, ...] = ("httpx", "httpx2")) -> bool:
    """``isinstance`` against ``name`` in each loaded module (the ollama client uses httpx, openai
    uses httpx2, LiteLLM either)."""
    return any(isinstance(exc, c) for c in (_cls(m, name) for m in modules) if c)


_CLIENT_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)+(?:\w+Error:\s*)?(?:\w+Exception\s*-\s*)?")


def _detail(exc: BaseException) -> str:
    """The provider's own explanation, without client prefixes or JSON wrapping."""
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        text = str(getattr(exc, "error", None) or getattr(exc, "message", None) or exc)
        text = _CLIENT_PREFIX.sub("", text)
        try:
            body = json.loads(text)
        except ValueError:
            return _one_line(text) or type(exc).__name__
    inner = body.get("error", body) if isinstance(body, dict) else body
    message = inner.get("message") if isinstance(inner, dict) else inner
    return _one_line(str(message)) if message else type(exc).__name__


def _headers(exc: BaseException) -> dict[str, str]:
    found: dict[str, str] = {}
    for source in (
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
    ):
        if source:
            found.update({str(k).lower(): str(v) for k, v in dict(source).items()})
    return found


def retry_after(exc: BaseException) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    headers = _headers(exc)
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Context:
    """What the messages need to say where the failure happened and what to do."""

    def __init__(self, backend: str, model: str, base_url: str, key_env: str) -> None:
        self.backend, self.model, self.base_url, self.key_env = backend, model, base_url, key_env
        self.where = base_url or (model.split("/", 1)[0] if "/" in model else backend)

    def make(self, cls: type[AIError], message: str, retry: float | None = None) -> AIError:
        return cls(redact(message), backend=self.backend, model=self.model, retry_after=retry)

    def unreachable(self, why: str = "") -> AIError:
        if self.backend == "local":
            return self.make(
                BackendNotAvailableError,
                f"Ollama is not running at {self.base_url or 'its host'}{why}: start it with "
                "`ollama serve` or set OLLAMA_HOST.",
            )
        return self.make(
            BackendNotAvailableError,
            f"Cannot reach {self.where}{why}: check that the server is running and the URL is right.",
        )

    def timeout(self) -> AIError:
        return self.make(
            AITimeoutError,
            f"{self.where} did not respond in time: try again, or raise `timeout` in the config.",
        )

    def dropped(self) -> AIError:
        return self.make(ProviderError, f"The connection to {self.where} dropped mid-stream: try again.")

    def malformed(self, detail: str) -> AIError:
        return self.make(
            ProviderError,
            f"{self.where} sent a malformed response ({detail}): try again or check the server.",
        )

    def by_status(self, status: int, detail: str, retry: float | None = None) -> AIError:
        """The error for an HTTP status, with the provider's ``detail``."""
        if status in (401, 403):
            fix = (
                f"set a valid key in {self.key_env}"
                if self.key_env
                else "check the API key configured for it"
            )
            return self.make(APIKeyError, f"{self.where} rejected the API key (HTTP {status}): {fix}.")
        if status == 404:
            if self.backend == "local":
                name = self.model.removeprefix("ollama/")
                return self.make(
                    ModelNotFoundError, f"Model '{name}' is not in Ollama: run `ollama pull {name}`."
                )
            return self.make(
                ModelNotFoundError,
                f"Model '{self.model}' was not found at {self.where} ({detail}): check the name with "
                "`ttt models`.",
            )
        if status == 429:
            wait = f" for {retry:g}s" if retry else ""
            return self.make(
                RateLimitError,
                f"Rate limited by {self.where}{wait}: wait and retry, or configure a fallback model.",
                retry,
            )
        if status == 408:
            return self.timeout()
        if 400 <= status < 500:
            return self.make(
                InvalidRequestError, f"{self.where} rejected the request (HTTP {status}): {detail}"
            )
        if status >= 500:
            return self.make(
                ProviderError,
                f"{self.where} failed (HTTP {status}: {detail}): try again later or use a fallback model.",
            )
        return self.make(ProviderError, f"{self.where} failed: {detail}")


def map_error(
    exc: BaseException, *, backend: str, model: str, base_url: str = "", key_env: str = ""
) -> AIError:
    """The ``AIError`` for any exception a backend's client raised.

    ``base_url`` says where the request went (an Ollama host or an endpoint); ``key_env`` names
    the variable holding the key, so an auth failure can say which one to fix.
    """
    if isinstance(exc, AIError):
        return exc
    ctx = _Context(backend, model, base_url, key_env)
    untrusted = _certificate(exc)
    if untrusted is not None:
        return ctx.make(
            CertificateError,
            f"The TLS certificate of {ctx.where} can't be verified ({untrusted}): if the server uses "
            f"its own certificate authority, point SSL_CERT_FILE or backends.{backend}.ca_bundle at "
            "its CA file.",
        )
    # a transport failure anywhere in the chain says more than the wrapper a client put on it
    for link in _chain(exc):
        mapped = _transport(link, ctx)
        if mapped is not None:
            return mapped
    mapped = _litellm(exc, ctx) or _openai(exc, ctx) or _ollama(exc, ctx)
    if mapped is None:
        mapped = ctx.make(
            ProviderError, f"Unexpected error from {ctx.where}: {type(exc).__name__}: {_detail(exc)}"
        )
    return mapped


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it (``from``, implicit context, LiteLLM's ``original_exception``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        following = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        original = getattr(current, "original_exception", None)
        current = following or (original if isinstance(original, BaseException) else None)


def _certificate(exc: BaseException) -> str | None:
    """Why verifying a certificate failed, if that is what broke the request (LiteLLM may keep
    only the message of the ``ssl`` error)."""
    for link in _chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return _one_line(link.verify_message or link.reason or "certificate verify failed")
        if "CERTIFICATE_VERIFY_FAILED" in str(link):
            return "certificate verify failed"
    return None


def _litellm(exc: BaseException, ctx: _Context) -> AIError | None:
    """LiteLLM's own classes that say more than their openai base classes."""
    if "litellm" not in sys.modules:
        return None
    if isinstance(exc, _cls("litellm.exceptions", "ContextWindowExceededError")):
        return ctx.make(
            InvalidRequestError,
            f"The conversation is too long for {ctx.model}: start a new chat or pick a model with a "
            "larger context.",
        )
    if isinstance(exc, _cls("litellm.exceptions", "MidStreamFallbackError")):
        # LiteLLM wraps whatever broke a stream; a connection error there means the stream ended early
        original = getattr(exc, "original_exception", None)
        if not isinstance(original, BaseException) or isinstance(
            original, _cls("litellm.exceptions", "APIConnectionError")
        ):
            return ctx.dropped()
        return map_error(
            original, backend=ctx.backend, model=ctx.model, base_url=ctx.base_url, key_env=ctx.key_env
        )
    if isinstance(exc, _cls("litellm.exceptions", "Timeout")):
        return ctx.timeout()
    if isinstance(exc, _cls("litellm.exceptions", "ServiceUnavailableError")):
        return ctx.by_status(503, _detail(exc))
    return None


def _openai(exc: BaseException, ctx: _Context) -> AIError | None:
    """The openai client's classes (LiteLLM's subclass them, so they land here too)."""
    if "openai" not in sys.modules:
        return None
    if isinstance(exc, _cls("openai", "APITimeoutError")):
        return ctx.timeout()
    if isinstance(exc, _cls("openai", "APIConnectionError")):
        return ctx.unreachable()
    if isinstance(exc, _cls("openai", "APIStatusError")):
        status = getattr(exc, "status_code", 0) or 0
        return ctx.by_status(status, _detail(exc), retry_after(exc))
    if isinstance(exc, _cls("openai", "APIError")):  # an error event inside a stream
        return ctx.make(ProviderError, f"{ctx.where} failed mid-stream: {_detail(exc)}")
    return None


def _ollama(exc: BaseException, ctx: _Context) -> AIError | None:
    if isinstance(exc, _cls("ollama", "ResponseError")):
        status = getattr(exc, "status_code", -1)
        if status < 0:  # an error object inside the stream
            return ctx.make(ProviderError, f"{ctx.where} failed mid-stream: {_detail(exc)}")
        return ctx.by_status(status, _detail(exc))
    return None


def _transport(exc: BaseException, ctx: _Context) -> AIError | None:
    """Raw transport failures (the clients let these through while a body is streaming)."""
    if _of(exc, "ConnectTimeout"):
        return ctx.unreachable(" (connection timed out)")
    if _of(exc, "TimeoutException") or isinstance(exc, TimeoutError):
        return ctx.timeout()
    if _of(exc, "ConnectError") or isinstance(exc, ConnectionRefusedError):
        return ctx.unreachable(" (connection refused)")
    if _of(exc, "RemoteProtocolError") or _of(exc, "ReadError") or isinstance(exc, ConnectionResetError):
        return ctx.dropped()
    if isinstance(exc, ConnectionError):  # the ollama client's own "Failed to connect" wrapper
        return ctx.unreachable()
    if isinstance(exc, json.JSONDecodeError) or _of(exc, "ValidationError", ("pydantic",)):
        return ctx.malformed(type(exc).__name__)
    return None
