"""Configuration layers, validation and `ttt config set`, on real files."""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.conftest import REPO
from ttt.core.config import Config, apply, load_config, paths, set_user_value
from ttt.core.config_loaders import register_loader, unregister_loader
from ttt.core.errors import ConfigurationError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_are_typed() -> None:
    config = load_config()
    assert config == Config()
    assert config.tools.max_rounds == 8 and config.retries == 2


def test_precedence_defaults_user_project_env_program(monkeypatch: pytest.MonkeyPatch) -> None:
    write(paths().user_config, 'model = "user"\nsystem = "from user"\n[tools]\ntimeout = 5\n')
    write(Path("ttt.toml"), 'model = "project"\n[tools]\nmax_rounds = 3\n')
    config = load_config()
    assert (config.model, config.system, config.tools.timeout, config.tools.max_rounds) == (
        "project",
        "from user",
        5.0,
        3,
    )
    monkeypatch.setenv("TTT_MODEL", "env")
    assert load_config().model == "env"
    assert load_config({"model": "program"}).model == "program"


def test_loader_sits_after_files_and_before_env(monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("ttt.toml"), 'model = "project"\nsystem = "project"\n')

    class Loader:
        def load(self) -> dict:
            return {"model": "loader", "system": "loader"}

    register_loader("vault", Loader())
    try:
        monkeypatch.setenv("TTT_MODEL", "env")
        config = load_config()
        assert (config.model, config.system) == ("env", "loader")
    finally:
        unregister_loader("vault")


def test_a_failing_loader_is_named() -> None:
    class Broken:
        def load(self) -> dict:
            raise RuntimeError("vault sealed")

    register_loader("vault", Broken())
    try:
        with pytest.raises(ConfigurationError, match="config loader 'vault' failed: vault sealed"):
            load_config()
    finally:
        unregister_loader("vault")


def test_malformed_toml_names_file_and_line() -> None:
    path = write(Path("ttt.toml"), 'model = "x"\n\ntemperature = = 2\n')
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert str(path.resolve()) in str(caught.value) or "ttt.toml" in str(caught.value)
    assert "line 3" in str(caught.value)


def test_unknown_key_names_file_key_and_line() -> None:
    write(Path("ttt.toml"), 'model = "x"\n\n[tools]\ntimeout = 3\nmax_round = 2\n')
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    message = str(caught.value)
    assert "ttt.toml, line 5" in message and "'tools.max_round' is not a known setting" in message
    assert "max_rounds" in message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ('temperature = "hot"\n', "temperature", 1),
        ("\n[tools]\nmax_rounds = 2.5\n", "tools.max_rounds", 3),
        ('\n\n[tools.permissions]\nwrite_file = "maybe"\n', "tools.permissions.write_file", 4),
        ("offline = 1\n", "offline", 1),
        ('fallbacks = "openai/gpt-4o"\n', "fallbacks", 1),
    ],
)
def test_wrong_types_are_rejected(text: str, key: str, line: int) -> None:
    write(Path("ttt.toml"), text)
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert f"line {line}: '{key}'" in str(caught.value)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTT_TEMPERATURE", "warm")
    with pytest.raises(ConfigurationError, match="TTT_TEMPERATURE"):
        load_config()


def test_ttt_home_relocates_every_path(isolated: Path) -> None:
    p = paths()
    for directory in (p.config_dir, p.data_dir, p.log_dir):
        assert directory.is_relative_to(isolated)


def test_config_set_keeps_other_keys_and_is_private() -> None:
    path = write(paths().user_config, '# mine\nmodel = "ollama/llama3.2"\n[aliases]\nw = "groq/x"\n')
    set_user_value("tools.timeout", "12")
    set_user_value("fallbacks", '["local", "fast"]')
    set_user_value("system", "be brief")
    config = load_config()
    assert config.model == "ollama/llama3.2" and config.aliases == {"w": "groq/x"}
    assert (
        config.tools.timeout == 12.0 and config.fallbacks == ["local", "fast"] and config.system == "be brief"
    )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_config_set_rejects_bad_values_and_leaves_the_file_alone() -> None:
    path = write(paths().user_config, 'model = "kept"\n')
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match=r"tools\.timeout"):
        set_user_value("tools.timeout", "soon")
    with pytest.raises(ConfigurationError, match="not a known setting"):
        set_user_value("colour", "blue")
    assert path.read_bytes() == before


def test_program_overrides_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="program: 'max_tokens'"):
        apply(Config(), {"max_tokens": "many"})


def test_the_example_file_loads_and_documents_every_section() -> None:
    example = REPO / "ttt.toml.example"
    shutil.copy(example, "ttt.toml")
    config = load_config()
    assert [rule.name for rule in config.routing.rules] == ["private", "images", "code"]
    assert config.routing.rules[2].pattern and config.models["ollama/llava"].capabilities == [
        "text",
        "vision",
    ]
    assert config.connection("local").pool_size == 10 and config.connection("cloud").first_token_timeout == 60
    assert config.attachments.max_text_bytes == 1_000_000 and config.metrics is True
    text = example.read_text()
    missing = [
        f.name for f in dataclasses.fields(Config) if f"{f.name} =" not in text and f"[{f.name}" not in text
    ]
    assert missing == [], "settings the example does not show"
