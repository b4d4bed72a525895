"""The ``real_llm`` tier: a real llama-server running the bundled SmolLM2, once per session.

Every test under this folder is marked ``real_llm``. The binary is the one ttt itself would
run (``find_binary``): a llama-server built for this CPU by ``make llama-server`` when present,
else the prebuilt bundled one. Where the binary or the model is not installed, or the prebuilt
binary cannot run on this CPU, the tests skip with a reason saying what is missing and how to
get it. ``TTT_TEST_LLAMA_SERVER=/path/to/llama-server`` runs another binary instead.

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

from ttt.core.backends.llama_server import BUILD_BINARY, BUNDLED_NAME, LlamaServer, installation_problem
from ttt.core.config import Config, LlamaCppConfig
from ttt.core.errors import BackendNotAvailableError

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
        return f'model = "{self.model}"\ntemperature = 0.0\n\n[llamacpp]\nbase_url = "{self.base_url}"\n'


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.real_llm)
            # One worker runs the whole tier: one llama-server, not one per xdist worker.
            item.add_marker(pytest.mark.xdist_group("real_llm"))


@pytest.fixture(scope="session")
def real_llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLlama]:
    """Start the real llama-server with SmolLM2 once; skip (saying why) when it cannot run here."""
    # One thread: on a busy 2-core machine (xdist, other suites) two threads spin-wait on each
    # other and generate several times slower than one.
    binary = os.environ.get(BINARY_OVERRIDE, "")
    settings = LlamaCppConfig(binary=binary, threads=1, startup_timeout=90.0)
    problem = installation_problem(settings)
    if problem is not None:
        pytest.skip(f"real llama-server tier: {problem.message}")
    server = LlamaServer(settings, log_dir=tmp_path_factory.mktemp("llama-server-logs"))
    try:
        url = server.start()
    except BackendNotAvailableError as exc:
        if "SIGILL" not in exc.message:
            raise
        if binary:
            pytest.skip(f"real llama-server tier: {BINARY_OVERRIDE}: {exc.message}")
        pytest.skip(
            "real llama-server tier: the bundled llama-server needs CPU features this machine "
            f"lacks (AVX-VNNI); run `{BUILD_BINARY}` to build one for this CPU "
            f"(or point {BINARY_OVERRIDE} at one)"
        )
    config = Config(
        model=f"llamacpp/{BUNDLED_NAME}",
        temperature=0.0,
        llamacpp=dataclasses.replace(settings, base_url=url),
    )
    try:
        yield RealLlama(config, url, server, settings)
    finally:
        server.stop()
