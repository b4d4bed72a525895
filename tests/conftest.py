"""Fixtures every test shares: an isolated environment and the local provider servers.

No test reaches the internet: providers are the servers in ``tests/providers`` on 127.0.0.1,
driven through the real ollama, openai and LiteLLM clients.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers import OllamaServer, OpenAIServer

# Variables that would let a test reach a real provider or read the developer's setup.
LEAKY_VARIABLES = [
    name
    for name in os.environ
    if name.endswith(("_API_KEY", "_API_BASE", "_BASE_URL"))
    or name.startswith(("TTT_", "OLLAMA_", "AWS_", "LITELLM_"))
]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh TTT_HOME and working directory per test, no provider keys, no cached config."""
    for name in LEAKY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "ttt-home"
    monkeypatch.setenv("TTT_HOME", str(home))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Nothing listens here, so "Ollama not running" is the default unless a test starts one.
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    from ttt.core import api

    api.reset()
    yield home
    api.reset()


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Remove what ``setup_logging`` installs in this process (the CLI calls it), so later tests
    start clean."""
    yield
    from ttt.core import logs

    for name in (logs.ROOT, *logs.THIRD_PARTY):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if getattr(h, "_ttt", False)]:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaServer]:
    with OllamaServer() as server:
        yield server


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


KEY = "sk-test-0123456789abcdef"


def use_ollama(server: OllamaServer, monkeypatch: pytest.MonkeyPatch) -> OllamaServer:
    """``server``, reset, with OLLAMA_HOST pointing at it."""
    server.reset()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    return server


def use_openai(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """``server``, reset, with OPENAI_BASE_URL and OPENAI_API_KEY (``KEY``) pointing at it."""
    server.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return server


@pytest.fixture
def ollama(ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch) -> OllamaServer:
    """The Ollama server, reset, with OLLAMA_HOST pointing at it."""
    return use_ollama(ollama_server, monkeypatch)


@pytest.fixture
def openai(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """The OpenAI server, reset, with OPENAI_BASE_URL/OPENAI_API_KEY pointing at it."""
    return use_openai(openai_server, monkeypatch)
