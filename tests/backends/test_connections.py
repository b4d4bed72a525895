"""Per-backend connection settings reach the real clients, and plain-http clients skip TLS setup."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from tests.backends.conftest import ask
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core.backends import http
from ttt.core.backends.base import BaseBackend
from ttt.core.backends.cloud import CloudBackend
from ttt.core.backends.local import LocalBackend
from ttt.core.config import Config, apply
from ttt.core.errors import AITimeoutError
from ttt.core.types import TextDelta

MODELS = {"local": "llama3.2", "cloud": "fake/gpt-4o-mini"}


def backend_with(name: str, config: Config, **settings: object) -> BaseBackend:
    configured = apply(config, {"backends": {name: settings}})
    return LocalBackend(configured) if name == "local" else CloudBackend(configured)


def test_plain_http_gets_a_context_that_trusts_no_one() -> None:
    context = http.tls_verify("http://127.0.0.1:11434")
    assert isinstance(context, ssl.SSLContext)
    # no CA loaded, yet verification on: a redirect to https fails instead of going unverified
    assert context.get_ca_certs() == [] and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert http.tls_verify("HTTPS://api.openai.com/v1") is True


@pytest.mark.parametrize("name", ["local", "cloud"])
async def test_read_timeout(name: str, config: Config, ollama: OllamaServer, oai: OpenAIServer) -> None:
    server = ollama if name == "local" else oai
    server.script.push(Reply(text="one two", token_delay=3.0))
    backend = backend_with(name, config, read_timeout=0.5)
    try:
        with pytest.raises(AITimeoutError):
            await backend.ask(ask(MODELS[name]))
    finally:
        await backend.aclose()


@pytest.mark.parametrize("name", ["local", "cloud"])
async def test_pool_size(name: str, config: Config, ollama: OllamaServer, oai: OpenAIServer) -> None:
    server = ollama if name == "local" else oai
    server.script.push(Reply(text="first reply", token_delay=0.2), Reply(text="second"))
    backend = backend_with(name, config, pool_size=1)
    try:
        first = backend.astream(ask(MODELS[name]))
        while not isinstance(await anext(first), TextDelta):
            pass  # the first reply streams on the only connection
        second = asyncio.create_task(backend.ask(ask(MODELS[name])))
        await asyncio.sleep(0.5)
        assert len(server.chat_requests) == 1, "the second request waits for the connection"
        await first.aclose()
        assert (await second).text == "second"
    finally:
        await backend.aclose()
