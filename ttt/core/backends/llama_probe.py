"""Whether the offline model really answers on this machine, remembered.

Finding the runtime and the GGUF is not enough: a runtime built for other CPU features, or a
missing system library, only shows when the server starts. So ``ttt status``, ``ttt models`` and
the app ask ``check()``: one real one-token answer, remembered in the data folder under a key made
of the runtime, the model file and the CPU, so it runs once per machine and install, not per call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from ttt.core.backends.llama_server import (
    LlamaServer,
    cpu_flags,
    find_model,
    find_runtime,
    installation_problem,
    model_name,
)
from ttt.core.config import LlamaCppConfig, paths
from ttt.core.errors import AIError

VERDICT_FILE = "offline-check.json"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str  # what answered, or why it cannot


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _key(config: LlamaCppConfig) -> str | None:
    """Identifies what would run: runtime, model file, CPU and machine; None if either is missing."""
    runtime, model = find_runtime(config), find_model(config)
    if runtime is None or model is None:
        return None
    binary = Path(runtime.argv[0])
    parts = [
        runtime.label,
        _fingerprint(binary) if binary.is_file() else runtime.argv[0],
        _fingerprint(model),
        platform.machine(),
        " ".join(sorted(cpu_flags())),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _verdict_path() -> Path:
    return paths().data_dir / VERDICT_FILE


def remembered(config: LlamaCppConfig) -> Verdict | None:
    """The verdict recorded for exactly this runtime, model and CPU, if any. Cheap: one small file."""
    key = _key(config)
    try:
        data = json.loads(_verdict_path().read_text(encoding="utf-8"))
        entry = data.get(key) if key and isinstance(data, dict) else None
        return Verdict(bool(entry["ok"]), str(entry["detail"])) if isinstance(entry, dict) else None
    except (OSError, ValueError, KeyError):
        return None


def remember(config: LlamaCppConfig, verdict: Verdict) -> None:
    """Record ``verdict`` for this runtime, model and CPU (best effort: a read-only or full data
    folder just means checking again next time)."""
    key = _key(config)
    if key is None:
        return
    path = _verdict_path()
    try:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data = (data if isinstance(data, dict) else {}) | {key: dataclasses.asdict(verdict)}
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".offline-check-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(temporary, path)
    except OSError:
        pass


def check(config: LlamaCppConfig) -> Verdict:
    """The remembered verdict, else start the server on one thread, ask for one token and stop it.
    Never raises; an attached server (``base_url``) is not ours to judge here."""
    if config.base_url:
        return Verdict(True, f"attached to {config.base_url}")
    problem = installation_problem(config)
    if problem is not None:
        return Verdict(False, problem.message)
    verdict = remembered(config)
    if verdict is not None:
        return verdict
    server = LlamaServer(dataclasses.replace(config, base_url="", threads=1))
    request = {
        "model": model_name(config),
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 1,
        "temperature": 0,
    }
    try:
        url = server.start()
        headers = {"Authorization": f"Bearer {server.api_key}"}
        response = httpx.post(f"{url}/v1/chat/completions", json=request, headers=headers, timeout=120)
        response.raise_for_status()
        verdict = Verdict(True, f"answered a test prompt ({find_runtime(config).label})")  # type: ignore[union-attr]
    except AIError as error:
        verdict = Verdict(False, error.message)
    except httpx.HTTPError as error:
        verdict = Verdict(False, f"the offline model did not answer a test prompt: {error}")
    finally:
        server.stop()
    if verdict.ok or server.startup_exit is not None:  # a slow start proves nothing: ask again later
        remember(config, verdict)
    return verdict
