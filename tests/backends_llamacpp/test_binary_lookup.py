"""Which runtime ttt runs: the configured llama-server, else the embedded xllamacpp server where
this CPU can run it, else a llama-server built for this CPU in ``<sys.prefix>/bin``, else one on
PATH. Fake executables in tmp dirs; the embedded runtime is the real installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.backends_llamacpp.fakes import write_script
from ttt.core.backends import llama_server
from ttt.core.backends.llama_server import find_runtime, lookup_binary
from ttt.core.config import LlamaCppConfig


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_script(path, "#!/bin/sh\nexit 0\n")


def test_own_build_in_the_prefix_comes_first(tmp_path: Path) -> None:
    built = executable(tmp_path / "prefix" / "bin" / "llama-server")
    on_path = executable(tmp_path / "path" / "llama-server")
    assert lookup_binary(tmp_path / "prefix", str(on_path.parent)) == built


def test_path_when_there_is_no_build(tmp_path: Path) -> None:
    (tmp_path / "prefix" / "bin").mkdir(parents=True)
    on_path = executable(tmp_path / "path" / "llama-server")
    assert lookup_binary(tmp_path / "prefix", str(on_path.parent)) == on_path


def test_nothing_found(tmp_path: Path) -> None:
    assert lookup_binary(tmp_path / "prefix", str(tmp_path / "empty")) is None


def test_a_file_that_cannot_run_is_skipped(tmp_path: Path) -> None:
    built = tmp_path / "prefix" / "bin" / "llama-server"
    built.parent.mkdir(parents=True)
    built.write_text("not executable")
    on_path = executable(tmp_path / "path" / "llama-server")
    assert lookup_binary(tmp_path / "prefix", str(on_path.parent)) == on_path


def test_configured_binary_wins(tmp_path: Path) -> None:
    mine = executable(tmp_path / "custom" / "my-llama-server")
    runtime = find_runtime(LlamaCppConfig(binary=str(mine)))
    assert runtime is not None and runtime.argv == (str(mine),)


def test_the_embedded_runtime_by_default() -> None:
    """The installed xllamacpp wheel, run by this interpreter, is the default on this machine."""
    runtime = find_runtime(LlamaCppConfig())
    assert runtime is not None
    assert runtime.argv == (sys.executable, "-m", "ttt.core.backends.llama_child")
    assert runtime.label.startswith("xllamacpp 2026.")


def test_a_cpu_without_avx2_falls_back_to_a_built_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_server, "cpu_flags", lambda: frozenset({"sse4_2", "avx"}))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_runtime(LlamaCppConfig()) is None
    problem = llama_server.installation_problem(LlamaCppConfig())
    assert problem is not None
    assert "needs a CPU with AVX2" in problem.message and "avx2, f16c, fma" in problem.message
    assert "`make llama-server`" in problem.message and "OPENAI_BASE_URL" in problem.message
    built = executable(tmp_path / "prefix" / "bin" / "llama-server")
    assert find_runtime(LlamaCppConfig()) == llama_server.Runtime((str(built),), str(built))
