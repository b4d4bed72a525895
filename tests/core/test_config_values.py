"""Config values out of range, non-finite numbers and config files that are not files are clear
errors naming the file, the key and the line, never a crash or a stall later on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from ttt.core import api
from ttt.core.config import load_config
from ttt.core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "key", "line", "problem"),
    [
        ("model = 'x'\nretries = -5\n", "retries", 2, "must be at least 0, not -5"),
        ("[backends.cloud]\npool_size = 0\n", "backends.cloud.pool_size", 2, "must be at least 1, not 0"),
        ("timeout = nan\n", "timeout", 1, "must be a finite number, not nan"),
        ("temperature = nan\n", "temperature", 1, "must be a finite number, not nan"),
        ("temperature = 3.5\n", "temperature", 1, "must be between 0 and 2, not 3.5"),
        ("connect_timeout = 0\n", "connect_timeout", 1, "must be more than 0, not 0.0"),
        ("max_tokens = 0\n", "max_tokens", 1, "must be at least 1, not 0"),
        ("\n[tools]\ntimeout = inf\n", "tools.timeout", 3, "must be a finite number, not inf"),
        ("[backends.local]\nread_timeout = -1\n", "backends.local.read_timeout", 2, "must be more than 0"),
        ('[models."x/y"]\ncontext_length = 0\n', "models.x/y.context_length", 2, "must be at least 1"),
        ("[routing]\nreply_tokens = -1\n", "routing.reply_tokens", 2, "must be at least 0"),
        ("[attachments]\nmax_text_bytes = -1\n", "attachments.max_text_bytes", 2, "must be at least 1"),
    ],
)
def test_out_of_range_values_name_file_key_and_line(text: str, key: str, line: int, problem: str) -> None:
    Path("ttt.toml").write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert str(caught.value).startswith(f"{Path.cwd() / 'ttt.toml'}, line {line}: '{key}' {problem}")


def test_values_in_range_still_load() -> None:
    Path("ttt.toml").write_text(
        "retries = 0\ntemperature = 0\ntimeout = 0.5\n[backends.cloud]\npool_size = 1\n[tools]\nmax_rounds = 0\n"
    )
    config = load_config()
    assert (config.retries, config.temperature, config.connection("cloud").pool_size) == (0, 0.0, 1)


def test_environment_and_program_values_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTT_TIMEOUT", "nan")
    with pytest.raises(ConfigurationError, match=r"environment: 'timeout' must be a finite number"):
        load_config()
    monkeypatch.delenv("TTT_TIMEOUT")
    with pytest.raises(ConfigurationError, match=r"program: 'retries' must be at least 0, not -1"):
        api.configure(retries=-1)


def test_a_nesting_bomb_is_one_clear_error() -> None:
    Path("ttt.toml").write_text("a = " + "[" * 20_000 + "]" * 20_000 + "\n")
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert str(caught.value) == f"{Path.cwd() / 'ttt.toml'}: invalid TOML: nested too deeply"


def test_a_config_that_is_not_a_file_is_an_error_not_ignored() -> None:
    Path("ttt.toml").mkdir()
    with pytest.raises(ConfigurationError, match=r"ttt\.toml: is not a regular file"):
        load_config()
    Path("ttt.toml").rmdir()
    Path("ttt.toml").symlink_to("ttt.toml")  # a loop
    with pytest.raises(ConfigurationError, match=r"ttt.toml: cannot be read \(Too many levels of symbolic"):
        load_config()
    Path("ttt.toml").unlink()
    os.mkfifo("ttt.toml")  # reading it would block forever
    with pytest.raises(ConfigurationError, match=r"ttt\.toml: is not a regular file"):
        load_config()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("retries = -5\n", "line 1: 'retries' must be at least 0, not -5"),
        ("[backends.local]\npool_size = 0\n", "line 2: 'backends.local.pool_size' must be at least 1, not 0"),
        ("temperature = nan\n", "line 1: 'temperature' must be a finite number, not nan"),
        ("a = " + "[" * 20_000 + "]" * 20_000 + "\n", "invalid TOML: nested too deeply"),
    ],
)
def test_the_cli_exits_2_with_one_line(text: str, expected: str) -> None:
    Path("ttt.toml").write_text(text)
    result = ttt("-p", "hi", "-m", "ollama/llama3.2", timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"ttt: Configuration error: {Path.cwd() / 'ttt.toml'}, {expected}\n".replace(
        "ttt.toml, invalid", "ttt.toml: invalid"
    )


def test_the_cli_exits_2_for_a_config_folder() -> None:
    Path("ttt.toml").mkdir()
    result = ttt("-p", "hi", "-m", "ollama/llama3.2", timeout=60)
    assert result.returncode == 2 and "ttt.toml: is not a regular file" in result.stderr


def test_a_retired_setting_still_loads_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    Path("ttt.toml").write_text("[routing]\nchars_per_token = 3.5\nreply_tokens = 2048\n")
    with caplog.at_level("WARNING", logger="ttt"):
        config = load_config()
    assert config.routing.reply_tokens == 2048
    assert "routing.chars_per_token is no longer used" in caplog.text
