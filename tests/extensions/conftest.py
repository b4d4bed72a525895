"""Fixtures for the extension-point tests: provider servers with the models routing needs, a
config without the bundled llama.cpp model (so nothing starts a real llama-server), test images,
and the demo plugin installed into a temporary site directory."""

from __future__ import annotations

import base64
import importlib
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import use_ollama, use_openai
from tests.providers import OllamaServer, OpenAIServer
from tests.providers.ollama_server import OllamaModel

HERE = Path(__file__).resolve().parent
# The smallest valid images of each kind (1x1 pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
BASE_CONFIG = '[llamacpp]\nmodel_path = "no-bundled-model.gguf"\n'
OPENAI_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o4-mini"]
OLLAMA_MODELS = [
    OllamaModel("llama3.2:latest", family="llama", context_length=131072),
    OllamaModel("llava:latest", family="llava", context_length=4096, capabilities=("completion", "vision")),
    OllamaModel("qwen2.5-coder:latest", family="qwen2", context_length=32768),
]


def write_config(extra: str = "") -> Path:
    """./ttt.toml: ``extra`` TOML (top-level keys first), then the base settings."""
    path = Path("ttt.toml")
    path.write_text(extra + "\n" + BASE_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def base_config(isolated: Path) -> Path:
    return write_config()


@pytest.fixture(scope="session")
def ollama_vision_server() -> Iterator[OllamaServer]:
    with OllamaServer(OLLAMA_MODELS) as server:
        yield server


@pytest.fixture(scope="session")
def openai_many_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(OPENAI_MODELS) as server:
        yield server


@pytest.fixture
def local(ollama_vision_server: OllamaServer, monkeypatch: pytest.MonkeyPatch) -> OllamaServer:
    """Ollama with llama3.2, llava (vision) and qwen2.5-coder."""
    return use_ollama(ollama_vision_server, monkeypatch)


@pytest.fixture
def cloud(openai_many_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    """An OpenAI endpoint serving the registry's OpenAI models, with a key set."""
    return use_openai(openai_many_server, monkeypatch)


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    return path


def install(project: Path, target: Path) -> None:
    """Install a pure-Python project the way an installer lays it out: its package, plus a
    ``.dist-info`` with METADATA and the entry points declared in its pyproject.toml."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = meta["name"], meta["version"]
    package = name.replace("-", "_")
    shutil.copytree(project / package, target / package)
    dist = target / f"{package}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = [
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())
        for group, entries in meta.get("entry-points", {}).items()
    ]
    (dist / "entry_points.txt").write_text("\n".join(groups))
    (dist / "top_level.txt").write_text(package + "\n")
    (dist / "INSTALLER").write_text("tests\n")


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory with the demo plugin installed (for PYTHONPATH or sys.path)."""
    site = tmp_path_factory.mktemp("site")
    install(HERE / "plugin", site)
    return site


@pytest.fixture
def plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo plugin importable and discoverable in this process, for one test only."""
    from ttt.core.backends.base import Backend

    monkeypatch.syspath_prepend(str(plugin_site))
    importlib.invalidate_caches()
    yield plugin_site
    Backend._registry.pop("demo", None)  # the factory caches classes it loaded from entry points
    sys.modules.pop("ttt_demo_plugin", None)
