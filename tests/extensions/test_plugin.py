"""Extension points through the demo plugin installed in a site directory: a backend and a config
loader found by entry points; model definitions by ``add_model`` and ``[models.<name>]``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from tests.extensions.conftest import write_config
from tests.providers import OpenAIServer
from ttt.core import api
from ttt.core.config import load_config
from ttt.core.errors import ConfigurationError
from ttt.core.inventory import list_models
from ttt.core.models import ModelInfo, model_registry
from ttt.core.types import RouteInfo


@pytest.fixture
def demo_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the demo loader reads."""
    path = tmp_path / "demo.json"
    monkeypatch.setenv("TTT_DEMO_CONFIG", str(path))
    return path


@pytest.fixture
def added_models() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        model_registry.remove_model(name)


# --- backends ----------------------------------------------------------------------------------


async def test_a_backend_plugin_answers_its_models(plugin: Path) -> None:
    response = await api.ask_async("hello", model="demo/echo")
    assert (response.text, response.backend, response.model) == (
        "demo echo heard: hello",
        "demo",
        "demo/echo",
    )


def test_a_backend_plugin_in_a_fresh_process(plugin_site: Path) -> None:
    result = ttt("-p", "hi there", "-m", "demo/eye", site=plugin_site)
    assert (result.returncode, result.stdout) == (0, "demo eye heard: hi there\n"), result.stderr
    listed = {m["name"]: m for m in json.loads(ttt("models", "--json", site=plugin_site).stdout)}
    assert listed["demo/eye"]["backend"] == "demo" and listed["demo/eye"]["available"]
    assert "vision" in listed["demo/eye"]["capabilities"]
    status = ttt("status", site=plugin_site).stdout
    assert any(line.startswith("✓ demo") and "always ready" in line for line in status.splitlines())


def test_without_the_plugin_there_is_no_demo_backend() -> None:
    result = ttt("models", "--json")
    assert result.returncode == 0 and not any(m["backend"] == "demo" for m in json.loads(result.stdout))


# --- config loaders ------------------------------------------------------------------------------


def test_a_loader_plugin_sits_after_files_and_before_the_environment(
    plugin: Path, demo_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config('model = "from-file"\nsystem = "from-file"\ntimeout = 5\n')
    demo_config.write_text(json.dumps({"model": "from-plugin", "system": "from-plugin"}))
    monkeypatch.setenv("TTT_MODEL", "from-env")
    config = load_config()
    assert (config.model, config.system, config.timeout) == ("from-env", "from-plugin", 5.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"config loader 'demo' failed: Expecting property name"),
        ('{"timeout": "soon"}', r"config loader 'demo': 'timeout' must be a number, not 'soon'"),
        ('{"colour": "blue"}', r"config loader 'demo': 'colour' is not a known setting"),
    ],
)
def test_a_loader_plugins_errors_name_it(plugin: Path, demo_config: Path, content: str, message: str) -> None:
    demo_config.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        load_config()


def test_a_loader_plugin_in_a_fresh_process(plugin_site: Path, demo_config: Path) -> None:
    demo_config.write_text(json.dumps({"system": "be brief", "aliases": {"mine": "demo/echo"}}))
    assert ttt("config", "get", "system", site=plugin_site).stdout == "be brief\n"
    result = ttt("-p", "ping", "-m", "mine", site=plugin_site)
    assert result.stdout == "demo echo heard: ping\n", result.stderr


# --- model definitions ---------------------------------------------------------------------------


async def test_added_models_reach_the_picker(cloud: OpenAIServer, added_models: list[str]) -> None:
    model_registry.add_model(ModelInfo("openai/my-tune", "openai", ["text", "code"], 65_536, 1.0, 2.0))
    added_models.append("openai/my-tune")
    listed = {m.name: m for m in await list_models(api.get_config())}
    assert listed["openai/my-tune"].context_length == 65_536
    # the endpoint at OPENAI_BASE_URL lists what it serves, and my-tune is not among them
    assert listed["openai/my-tune"].available is False


async def test_added_models_take_part_in_routing(plugin: Path, added_models: list[str]) -> None:
    model_registry.add_model(ModelInfo("demo/wide", "demo", ["text"], 2_000_000))
    added_models.append("demo/wide")
    events = [e async for e in api.events_async("word " * 5000, model="auto")]  # too long for 4096
    route = events[0]
    assert isinstance(route, RouteInfo) and route.model == "demo/wide"
    assert events[-1].response.text.startswith("demo wide heard: word")  # type: ignore[union-attr]


async def test_config_model_tables_reach_routing(plugin: Path, png: Path) -> None:
    write_config('[models."demo/echo"]\ncapabilities = ["text", "vision"]\ncontext_length = 100000\n')
    response = await api.ask_async("what is it?", attachments=[png], model="auto")
    # both demo models now read images; the larger window wins the tie
    assert response.model == "demo/echo" and "1 image(s)" in response.text


def test_config_model_tables_reach_ttt_models(cloud: OpenAIServer) -> None:
    write_config(
        '[models."openai/gpt-4o"]\ncapabilities = ["text", "vision"]\ncontext_length = 999999\n'
        "input_price = 0.5\noutput_price = 1.5\n"
    )
    listed = {m["name"]: m for m in json.loads(ttt("models", "--json").stdout)}
    assert listed["openai/gpt-4o"]["context_length"] == 999999
    assert (listed["openai/gpt-4o"]["capabilities"], listed["openai/gpt-4o"]["input_price"]) == (
        ["text", "vision"],
        0.5,
    )
