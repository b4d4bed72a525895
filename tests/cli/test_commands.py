"""`ttt models`, `ttt status` and `ttt config` as a user runs them."""

from __future__ import annotations

import json
import os
import stat

from tests.cli.test_oneshot import KEY, ttt
from tests.providers import OllamaServer, OpenAIServer


def test_models_lists_every_backend_with_availability_and_aliases(
    ollama: OllamaServer, openai: OpenAIServer
) -> None:
    result = ttt("models", "--json")
    assert result.returncode == 0, result.stderr
    models = {m["name"]: m for m in json.loads(result.stdout)}
    assert models["ollama/llama3.2"]["backend"] == "local" and models["ollama/llama3.2"]["available"]
    assert "local" in models["ollama/llama3.2"]["aliases"]
    assert models["openai/gpt-4o-mini"]["available"] and "fast" in models["openai/gpt-4o-mini"]["aliases"]
    assert models["anthropic/claude-sonnet-4-5"]["available"] is False
    table = ttt("models").stdout
    assert table.splitlines()[0].split() == ["MODEL", "BACKEND", "AVAILABLE", "CONTEXT", "ALIASES"]
    assert "ollama/qwen3:8b" in table


def test_models_still_lists_when_ollama_is_down() -> None:
    result = ttt("models", "--json")
    assert result.returncode == 0
    assert not any(m["name"].startswith("ollama/") and m["available"] for m in json.loads(result.stdout))


def test_status_says_what_is_reachable_and_which_keys_are_set_never_values(openai: OpenAIServer) -> None:
    result = ttt("status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    local = next(line for line in lines if " local " in line)
    assert local.startswith("✗") and "127.0.0.1:9" in local
    assert any("OPENAI_API_KEY" in line and line.rstrip().endswith(" set") for line in lines)
    assert any("ANTHROPIC_API_KEY" in line and "not set" in line for line in lines)
    assert KEY not in result.stdout and KEY not in result.stderr


def test_status_json(ollama: OllamaServer) -> None:
    statuses = {s["name"]: s for s in json.loads(ttt("status", "--json").stdout)}
    assert statuses["local"]["available"] is True


def test_config_set_get_list(isolated) -> None:
    assert ttt("config", "set", "tools.timeout", "9").returncode == 0
    assert ttt("config", "set", "aliases.work", "ollama/qwen3:8b").returncode == 0
    assert ttt("config", "get", "tools.timeout").stdout.strip() == "9.0"
    assert ttt("config", "get", "aliases.work").stdout.strip() == "ollama/qwen3:8b"
    listing = ttt("config", "list").stdout
    assert "[tools]" in listing and "timeout = 9.0" in listing
    path = isolated / "config" / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    bad = ttt("config", "set", "tools.timeout", "later")
    assert bad.returncode == 2 and "must be a number" in bad.stderr
    unknown = ttt("config", "get", "nonsense")
    assert unknown.returncode == 2 and "not a known setting" in unknown.stderr


def test_config_set_edits_the_example_in_place_keeping_every_comment(isolated) -> None:
    from tests.conftest import REPO

    path = isolated / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    example = (REPO / "ttt.toml.example").read_text(encoding="utf-8")
    path.write_text(example, encoding="utf-8")
    comments = [line for line in example.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 10
    result = ttt("config", "set", "tools.timeout", "42")
    assert result.returncode == 0, result.stderr
    edited = path.read_text(encoding="utf-8")
    assert [line for line in edited.splitlines() if line.lstrip().startswith("#")] == comments
    assert ttt("config", "get", "tools.timeout").stdout.strip() == "42.0"
    assert len(edited.splitlines()) == len(example.splitlines())  # the value changed in place


def test_config_set_onto_a_directory_is_a_clear_error(isolated) -> None:
    path = isolated / "config" / "config.toml"
    path.mkdir(parents=True)
    result = ttt("config", "set", "tools.timeout", "9")
    assert result.returncode == 2
    assert "is not a file" in result.stderr and "Traceback" not in result.stderr
