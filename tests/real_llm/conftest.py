"""The ``real_llm`` tier: a real llama.cpp server running the bundled SmolLM2, once per session.

Every test under this folder is marked ``real_llm``. The runtime is the one ttt itself would run
(``find_runtime``): the embedded xllamacpp server, which the project installs on every x86-64
Linux machine. It is never skipped: a runtime or model that is missing or cannot run here fails
the tier, saying why. ``TTT_TEST_LLAMA_SERVER=/path/to/llama-server`` runs another binary instead.

Other real_llm tests build on the ``real_llama`` fixture: its ``config`` attaches to the
session's server (``llamacpp.base_url``), and ``toml()`` writes the same for a ``ttt``
subprocess's config file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ttt.core.backends.llama_server import BUNDLED_NAME, LlamaServer, installation_problem
from ttt.core.config import Config, LlamaCppConfig

HERE = Path(__file__).resolve().parent
BINARY_OVERRIDE = "TTT_TEST_LLAMA_SERVER"


@dataclass
class RealLlama:
    """The session's running llama-server and a Config that talks to it."""

    config: Config  # model llamacpp/smollm2, temperature 0, llamacpp.base_url = the server
    base_url: str  # http://127.0.0.1:PORT (no /v1)
    server: LlamaServer
    settings: LlamaCppConfig  # binary/model settings without base_url: starts a server of its own

    @property
    def model(self) -> str:
        return self.config.model

    def toml(self) -> str:
        """A config file body pointing ``ttt`` at this server (for ``TTT_HOME/config/config.toml``)."""
        return (
            f'model = "{self.model}"\ntemperature = 0.0\n\n[llamacpp]\nbase_url = "{self.base_url}"\n'
            f'api_key = "{self.server.api_key}"\n'
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.real_llm)
            # One worker runs the whole tier: one llama-server, not one per xdist worker.
            item.add_marker(pytest.mark.xdist_group("real_llm"))


@pytest.fixture(scope="session")
def real_llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLlama]:
    """Start the real server with SmolLM2 once; fail (saying why) when it cannot run here."""
    # One thread: on a busy 2-core machine (xdist, other suites) two threads spin-wait on each
    # other and generate several times slower than one.
    binary = os.environ.get(BINARY_OVERRIDE, "")
    settings = LlamaCppConfig(binary=binary, threads=1, startup_timeout=90.0)
    problem = installation_problem(settings)
    if problem is not None:
        pytest.fail(f"real llama.cpp tier: {problem.message}")
    server = LlamaServer(settings, log_dir=tmp_path_factory.mktemp("llama-server-logs"))
    url = server.start()
    config = Config(
        model=f"llamacpp/{BUNDLED_NAME}",
        temperature=0.0,
        llamacpp=dataclasses.replace(settings, base_url=url, api_key=server.api_key),
    )
    try:
        yield RealLlama(config, url, server, settings)
    finally:
        server.stop()
