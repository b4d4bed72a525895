"""HTTP client settings the backends share: pool size and timeouts from the config's
connection settings, and TLS verification only where there is TLS.

The classes come from each client library (``httpx`` for ollama; whatever the ``openai`` package
builds on, ``httpx2`` in recent versions), so no backend imports another's HTTP stack.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttt.core.config_sections import Connection


def tls_verify(url: str) -> ssl.SSLContext | bool:
    """How a client for ``url`` verifies TLS.

    Loading the CA bundle takes ~30 ms per client, and a plain-http server (Ollama, a local
    OpenAI-compatible server) needs none. For anything but ``https://`` this is a context that
    trusts no CA at all, so a redirect to https fails rather than going unverified."""
    if url.strip().lower().startswith("https://"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def limits(connection: Connection, kind: type[Any]) -> Any:
    """At most ``pool_size`` connections, all kept alive between requests (``kind``: a Limits class)."""
    return kind(max_connections=connection.pool_size, max_keepalive_connections=connection.pool_size)


def timeout(connection: Connection, kind: type[Any]) -> Any:
    """``connect_timeout`` to connect; ``read_timeout`` for each read, write and pool wait
    (``kind``: a Timeout class)."""
    return kind(connection.read_timeout, connect=connection.connect_timeout)
