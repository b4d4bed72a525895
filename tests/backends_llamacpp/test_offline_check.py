"""The offline model is reported usable only once it has really answered on this machine: a
one-token check remembered per runtime, model and CPU. A runtime that crashes is never a ✓."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.backends_llamacpp.fakes import fake_model, fake_server, write_script
from ttt.core.backends import llama_probe
from ttt.core.config import LlamaCppConfig


def sigill_server(folder: Path) -> Path:
    return write_script(folder / "old-cpu-server", "#!/bin/sh\nkill -ILL $$\n")


def test_a_crashing_runtime_is_remembered_as_unusable(tmp_path: Path) -> None:
    config = LlamaCppConfig(binary=str(sigill_server(tmp_path)), model_path=str(fake_model(tmp_path)))
    verdict = llama_probe.check(config)
    assert not verdict.ok and "SIGILL" in verdict.detail
    assert llama_probe.remembered(config) == verdict


def test_a_working_runtime_answers_once_then_is_remembered(tmp_path: Path) -> None:
    binary = fake_server(tmp_path)
    config = LlamaCppConfig(binary=str(binary), model_path=str(fake_model(tmp_path)))
    assert llama_probe.remembered(config) is None
    verdict = llama_probe.check(config)
    assert verdict.ok and "answered a test prompt" in verdict.detail
    binary.with_suffix(".argv").unlink()
    assert llama_probe.check(config) == verdict
    assert not binary.with_suffix(".argv").exists(), "a remembered verdict must not start the server"


def test_another_runtime_is_checked_afresh(tmp_path: Path) -> None:
    model = str(fake_model(tmp_path))
    llama_probe.check(LlamaCppConfig(binary=str(fake_server(tmp_path)), model_path=model))
    other = LlamaCppConfig(binary=str(sigill_server(tmp_path)), model_path=model)
    assert llama_probe.remembered(other) is None


def test_a_slow_start_is_not_remembered(tmp_path: Path) -> None:
    stuck = write_script(tmp_path / "stuck", "#!/bin/sh\nexec sleep 30\n")
    config = LlamaCppConfig(binary=str(stuck), model_path=str(fake_model(tmp_path)), startup_timeout=0.3)
    assert not llama_probe.check(config).ok
    assert llama_probe.remembered(config) is None


def test_status_and_models_never_show_a_crashing_runtime_as_usable(tmp_path: Path, isolated: Path) -> None:
    """``ttt status`` and ``ttt models`` run the check: ✗ with the reason, not a ✓."""
    config = isolated / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[llamacpp]\nbinary = "{sigill_server(tmp_path)}"\nmodel_path = "{fake_model(tmp_path)}"\n'
    )
    status = subprocess.run(
        [sys.executable, "-m", "ttt", "status"], capture_output=True, text=True, timeout=60
    )
    line = next(line for line in status.stdout.splitlines() if "llamacpp" in line)
    assert line.startswith("✗") and "SIGILL" in line
    models = subprocess.run(
        [sys.executable, "-m", "ttt", "models"], capture_output=True, text=True, timeout=60
    )
    row = next(line for line in models.stdout.splitlines() if "llamacpp/" in line).split()
    assert row[:3] == ["llamacpp/old-cpu-server", "llamacpp", "no"] or row[2] == "no", row
