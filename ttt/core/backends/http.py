"""HTTP client settings the backends share: pool size and timeouts from the config's
connection settings, TLS verification (with a custom CA bundle), and where an API key may go.

The classes come from each client library (``httpx`` for ollama; whatever the ``openai`` package
builds on, ``httpx2`` in recent versions), so no backend imports another's HTTP stack.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import warnings
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ttt.core.errors import ConfigurationError
from ttt.core.logs import get_logger

if TYPE_CHECKING:
    from ttt.core.config_sections import Connection

log = get_logger("http")

Network = Literal["tls", "loopback", "private", "public"]
# Names that only ever mean this machine, or a private network (mDNS, ICANN's private-use TLD,
# RFC 8375); any other name may resolve anywhere, and none is looked up here.
_LOOPBACK_NAMES = ("localhost",)
_PRIVATE_SUFFIXES = (".local", ".internal", ".home.arpa")


class InsecureTransportWarning(UserWarning):
    """An API key is sent over plain HTTP to a private-network host, as the config allows."""


def tls_verify(url: str, ca_bundle: str = "", setting: str = "ca_bundle") -> ssl.SSLContext | bool:
    """How a client for ``url`` verifies TLS.

    For ``https://``: a context trusting the CA bundle named by ``ca_bundle`` (``setting`` names
    it in errors), else ``True``: the client's default, which honours ``SSL_CERT_FILE`` (checked
    here, so a wrong path is a clear error). A plain-http server (Ollama, a local
    OpenAI-compatible server) needs no CAs, and loading them costs a few ms per client, so for
    anything but ``https://`` this is a context that trusts no CA at all: a redirect to https
    fails rather than going unverified. Verification is never turned off."""
    if not url.strip().lower().startswith("https://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    path = ca_file(ca_bundle, setting)
    return _context(path, setting) if ca_bundle else True


@functools.lru_cache(maxsize=8)
def _context(path: str, setting: str) -> ssl.SSLContext:
    """A verifying context that trusts the certificates in ``path`` (built once per file)."""
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ConfigurationError(f"{setting} ({path}) is not a usable CA bundle: {reason}.") from None


def ca_file(ca_bundle: str = "", setting: str = "ca_bundle") -> str:
    """The CA bundle to trust: ``ca_bundle``, else ``SSL_CERT_FILE``, else "" (the default).
    For a client without an ``SSLContext`` hook (LiteLLM) too; a path that is no file is a
    clear error, not a failure deep inside a client."""
    path = os.path.expanduser(ca_bundle)
    if not ca_bundle:
        path, setting = os.environ.get("SSL_CERT_FILE", ""), "SSL_CERT_FILE"
    if path and not os.path.isfile(path):
        raise ConfigurationError(
            f"{setting} ({path}) is not a file: point it at a PEM file of CA certificates."
        )
    return path


def network(url: str) -> Network:
    """Where a request to ``url`` travels, judged from the URL alone (no name is resolved):
    ``tls`` for https; else this machine, a private network, or anywhere (``public``).

    A host is taken the way an HTTP client takes it: after any ``user@``, scheme in any case,
    IPv6 in brackets. Only canonical IP literals count as addresses, so ``127.0.0.1.evil.com``
    or ``0x7f.1`` are names, and names are public unless they can only be local."""
    scheme, host, _ = _split(url)
    if scheme == "https":
        return "tls"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
            return "loopback"
        return "private" if host.endswith(_PRIVATE_SUFFIXES) else "public"
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if address.is_loopback or address.is_unspecified:  # 0.0.0.0 reaches this machine
        return "loopback"
    return "private" if address.is_private or address.is_link_local else "public"


def _split(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``; a URL without a scheme is plain http, as the clients
    take it (``OLLAMA_HOST=box:11434``); one that does not parse has no host."""
    raw = url.strip()
    try:
        parts = urlsplit(raw if "://" in raw else f"http://{raw}")
        return parts.scheme, (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return "", "", None


_warned: set[str] = set()


def check_key_transport(
    url: str, *, setting: str, key_env: str, backend: str, connection: Connection
) -> None:
    """Refuse to send an API key in clear text off this machine.

    ``url`` is where the key would go and ``setting`` where that URL came from (for the error);
    a private-network host is allowed when ``[backends.<backend>] allow_private_http`` says so,
    with a warning the first time. Keyless requests never come here."""
    kind = network(url)
    if kind in ("tls", "loopback"):
        return
    scheme, host, port = _split(url)
    bracketed = f"[{host}]" if ":" in host else host
    shown = f"{scheme}://{bracketed}" + (f":{port}" if port else "")  # never a user:password@
    if kind == "private" and connection.allow_private_http:
        if shown not in _warned:
            _warned.add(shown)
            message = (
                f"sending {key_env or 'the API key'} over plain HTTP to {shown} "
                f"(allowed by backends.{backend}.allow_private_http)"
            )
            log.warning(message)
            warnings.warn(message, InsecureTransportWarning, stacklevel=2)
        return
    fix = (
        f", or set allow_private_http = true in [backends.{backend}] for this private-network host"
        if kind == "private"
        else ""
    )
    raise ConfigurationError(
        f"Refusing to send {key_env or 'an API key'} over plain HTTP to {shown} ({setting}): use "
        f"an https:// URL, or a server on this machine{fix}."
    )


def limits(connection: Connection, kind: type[Any]) -> Any:
    """At most ``pool_size`` connections, all kept alive between requests (``kind``: a Limits class)."""
    return kind(max_connections=connection.pool_size, max_keepalive_connections=connection.pool_size)


def timeout(connection: Connection, kind: type[Any]) -> Any:
    """``connect_timeout`` to connect; ``read_timeout`` for each read, write and pool wait
    (``kind``: a Timeout class)."""
    return kind(connection.read_timeout, connect=connection.connect_timeout)
