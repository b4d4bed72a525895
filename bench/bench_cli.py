"""One-shot latency: `ttt -p` against a ten-line bare-client script and `llm`, per path.

For each path (Ollama, OpenAI protocol, LiteLLM) this starts the project's own provider
servers in-process (they answer at once), runs every command N times, interleaved, and
measures wall time from just before the child is spawned to its first non-empty bytes on
stdout and to its exit. It also times `ttt --version` and a bare `python -c pass`, and checks
in a child process which heavy modules (LiteLLM, Textual) each ttt path imports.

    python bench/bench_cli.py [--quick] [--runs N] [--llm PATH]

`ttt` runs as `sys.executable -m ttt` with the repository on PYTHONPATH (nothing installed).
`llm` (with the llm-ollama plugin for the Ollama path) is looked up at --llm, then
/tmp/llm-venv/bin/llm, then on PATH; its baselines run the same bare scripts with llm's own
interpreter, since a clean venv imports faster than this one. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.providers import OllamaServer, OpenAIServer  # noqa: E402

PROMPT = "Name three things a terminal LLM workbench should do quickly and say why each matters"
EXPECT = "You said:"  # the servers echo the prompt when nothing is scripted
OLLAMA_MODEL = "llama3.2"
OPENAI_MODEL = "gpt-4o-mini"
LITELLM_MODEL = "ollama_chat/llama3.2"  # LiteLLM's own Ollama provider, pointed by OLLAMA_API_BASE
PY = sys.executable

OLLAMA_BARE = """\
import sys
from ollama import Client

client = Client()  # OLLAMA_HOST
messages = [{"role": "user", "content": sys.argv[1]}]
for part in client.chat(model="llama3.2", messages=messages, stream=True):
    sys.stdout.write(part.message.content or "")
    sys.stdout.flush()
sys.stdout.write("\\n")
"""

OPENAI_BARE = """\
import sys
from openai import OpenAI

client = OpenAI()  # OPENAI_BASE_URL, OPENAI_API_KEY
messages = [{"role": "user", "content": sys.argv[1]}]
stream = client.chat.completions.create(
    model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
sys.stdout.write("\\n")
"""

LITELLM_BARE = """\
import sys
import litellm  # LITELLM_LOCAL_MODEL_COST_MAP=True, OLLAMA_API_BASE

messages = [{"role": "user", "content": sys.argv[1]}]
for chunk in litellm.completion(model="ollama_chat/llama3.2", messages=messages, stream=True):
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
sys.stdout.write("\\n")
"""

# Runs ttt's CLI in-process, then reports which heavy modules it left in sys.modules.
MODULE_CHECK = """\
import json, resource, sys
from ttt.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
found = {name: name in sys.modules for name in ("litellm", "textual", "openai", "ollama")}
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("\\n@@" + json.dumps({"code": code, "modules": len(sys.modules), "rss_mb": rss, **found}))
"""


@dataclass
class Sample:
    """One run: seconds to first stdout bytes (None if none came), to exit, and CPU seconds."""

    first: float | None
    exit: float
    cpu: float
    ok: bool
    error: str = ""


@dataclass
class Case:
    """One command measured on one path."""

    path: str
    client: str
    cmd: list[str] | None
    env: dict[str, str] = field(default_factory=dict)
    expect: str = EXPECT
    note: str = ""
    baseline: str = ""  # the `client` of the row in the same path that ratios divide by
    samples: list[Sample] = field(default_factory=list)


def run_once(cmd: list[str], env: dict[str, str], cwd: str, expect: str, timeout: float = 180) -> Sample:
    """Spawn `cmd`, read its stdout unbuffered and timestamp the first bytes and the exit."""
    with tempfile.TemporaryFile() as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, bufsize=0, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd
        )
        assert proc.stdout is not None
        first: float | None = None
        out = bytearray()
        fd = proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            if first is None and chunk.strip():
                first = time.perf_counter() - start
            out += chunk
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        end = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").strip()
    text = out.decode("utf-8", "replace")
    ok = code == 0 and expect in text
    error = "" if ok else f"exit {code}: {(stderr or text).splitlines()[-1:] or ['no output']}"
    return Sample(first, end, cpu, ok, error)


def quantiles(values: list[float]) -> tuple[float, float]:
    """Median and nearest-rank p90."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def find_llm(explicit: str | None) -> str | None:
    """The `llm` executable: --llm, the throw-away venv, then PATH."""
    for candidate in (explicit, "/tmp/llm-venv/bin/llm", shutil.which("llm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def llm_cases(llm: str | None, openai_url: str, env: dict[str, str], home: Path) -> list[Case]:
    """`llm` on the Ollama path (llm-ollama plugin) and the OpenAI path (extra-openai-models.yaml),
    each with the bare script run by llm's own interpreter as its baseline."""
    if llm is None:
        note = "not installed: python -m venv /tmp/llm-venv && /tmp/llm-venv/bin/pip install llm llm-ollama"
        return [Case("Ollama", "llm", None, note=note), Case("OpenAI", "llm", None, note=note)]
    home.mkdir(parents=True, exist_ok=True)
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: bench-openai\n  model_name: {OPENAI_MODEL}\n  api_base: {openai_url}/v1\n"
    )
    env = {**env, "LLM_USER_PATH": str(home)}
    version = subprocess.run([llm, "--version"], capture_output=True, text=True, env=env).stdout.strip()
    plugins = subprocess.run([llm, "plugins"], capture_output=True, text=True, env=env).stdout
    venv_py = str(Path(llm).with_name("python"))
    base = "bare ollama, llm venv"
    if "llm-ollama" in plugins:
        ollama_env = {**env, "LLM_LOAD_PLUGINS": "llm-ollama"}
        cmd = [llm, "-m", f"ollama/{OLLAMA_MODEL}", PROMPT]
        ollama_cases = [
            Case("Ollama", "llm (llm-ollama)", cmd, ollama_env, note=version, baseline=base),
            Case("Ollama", base, [venv_py, "-c", OLLAMA_BARE, PROMPT], env),
        ]
    else:
        ollama_cases = [Case("Ollama", "llm", None, note="llm-ollama plugin not installed")]
    openai_env = {**env, "LLM_LOAD_PLUGINS": ""}  # built-in OpenAI models only
    cmd = [llm, "-m", "bench-openai", PROMPT]
    base = "bare openai, llm venv"
    return [
        *ollama_cases,
        Case("OpenAI", "llm", cmd, openai_env, note=f"{version}, no plugins", baseline=base),
        Case("OpenAI", base, [venv_py, "-c", OPENAI_BARE, PROMPT], env),
    ]


def module_check(argv: list[str], env: dict[str, str], cwd: str) -> dict[str, object]:
    """Run `ttt.cli.main(argv)` in a child and return what it reported about sys.modules."""
    proc = subprocess.run(
        [PY, "-c", MODULE_CHECK, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=180
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("@@"):
            return json.loads(line[2:])
    return {"error": (proc.stderr.strip().splitlines() or ["no report"])[-1]}


def build_cases(env: dict[str, str], llm: list[Case]) -> list[Case]:
    """Every command to time, grouped by path: ttt, its bare baseline, then llm."""
    ttt = [PY, "-m", "ttt", "-p", PROMPT, "-m"]
    by_path = {path: [c for c in llm if c.path == path] for path in ("Ollama", "OpenAI")}
    return [
        Case("startup", "python -c pass", [PY, "-c", "pass"], env, expect=""),
        Case(
            "startup",
            "ttt --version",
            [PY, "-m", "ttt", "--version"],
            env,
            expect="ttt",
            baseline="python -c pass",
        ),
        Case("Ollama", "ttt -p", [*ttt, f"ollama/{OLLAMA_MODEL}"], env, baseline="bare ollama"),
        Case("Ollama", "bare ollama", [PY, "-c", OLLAMA_BARE, PROMPT], env),
        *by_path["Ollama"],
        Case("OpenAI", "ttt -p", [*ttt, f"openai/{OPENAI_MODEL}"], env, baseline="bare openai"),
        Case("OpenAI", "bare openai", [PY, "-c", OPENAI_BARE, PROMPT], env),
        *by_path["OpenAI"],
        Case("LiteLLM", "ttt -p", [*ttt, LITELLM_MODEL], env, note=LITELLM_MODEL, baseline="bare litellm"),
        Case("LiteLLM", "bare litellm", [PY, "-c", LITELLM_BARE, PROMPT], env),
        Case("LiteLLM", "llm", None, note="llm has no LiteLLM path"),
    ]


def measure(cases: list[Case], runs: int, cwd: str) -> None:
    """Time every runnable case `runs` times after one warm-up, interleaving cases per round."""
    active = [c for c in cases if c.cmd is not None]
    for round_no in range(runs + 1):
        for case in active:
            assert case.cmd is not None
            sample = run_once(case.cmd, case.env, cwd, case.expect)
            if round_no:  # round 0 warms caches and .pyc files
                case.samples.append(sample)
            elif not sample.ok:
                print(f"warm-up failed: {case.path} {case.client}: {sample.error}", file=sys.stderr)
        print(f"  round {round_no}/{runs} done", file=sys.stderr, flush=True)


def fmt(values: list[float]) -> str:
    """'median / p90' in seconds."""
    if not values:
        return "-"
    median, p90 = quantiles(values)
    return f"{median:.3f} / {p90:.3f}"


def heavy_note(report: dict[str, object] | None) -> str:
    """'litellm no, textual no' (plus openai/ollama) from a module-check report."""
    if not report:
        return ""
    if "error" in report:
        return f"check failed: {report['error']}"
    names = ("litellm", "textual", "openai", "ollama")
    flags = ", ".join(f"{n} {'yes' if report.get(n) else 'no'}" for n in names)
    return f"{flags}; {report['modules']} modules, {float(report['rss_mb']):.0f} MB"  # type: ignore[arg-type]


def _ratio(mine: list[float], base: list[float]) -> str:
    """Median over median, e.g. '1.12x' ('' when either side is empty)."""
    return f"{statistics.median(mine) / statistics.median(base):.2f}x" if mine and base else ""


def _series(case: Case) -> tuple[list[float], list[float], list[float]]:
    """First-token, exit and CPU seconds of the successful runs."""
    good = [s for s in case.samples if s.ok]
    return [s.first for s in good if s.first is not None], [s.exit for s in good], [s.cpu for s in good]


def render(cases: list[Case], checks: dict[tuple[str, str], dict[str, object]]) -> str:
    """The one results table, as Markdown; ratios are a row's median over its baseline's."""
    head = [
        "path", "command", "first token med / p90 (s)", "exit med / p90 (s)", "CPU med (s)",
        "baseline", "÷ first", "÷ exit", "÷ CPU", "notes",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = {(c.path, c.client): c for c in cases}
    for case in cases:
        firsts, exits, cpus = _series(case)
        ratios = ["", "", ""]
        base = rows.get((case.path, case.baseline))
        if base is not None:
            ratios = [_ratio(m, b) for m, b in zip((firsts, exits, cpus), _series(base), strict=True)]
        notes = [case.note] if case.note else []
        failed = [s for s in case.samples if not s.ok]
        if failed:
            notes.append(f"{len(failed)}/{len(case.samples)} failed: {failed[0].error}")
        if (case.path, case.client) in checks:
            notes.append(heavy_note(checks[(case.path, case.client)]))
        cpu = f"{statistics.median(cpus):.3f}" if cpus else "-"
        first = fmt(firsts) if case.cmd and case.expect else "-"
        row = [case.path, case.client, first, fmt(exits) if case.cmd else "not measured", cpu]
        row += [case.baseline if base is not None else "", *ratios, "; ".join(notes)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 10")
    parser.add_argument("--runs", type=int, help="runs per command (default 10, --quick 3)")
    parser.add_argument("--llm", help="path to the llm executable")
    parser.add_argument("--only", action="append", default=[], help="Ollama, OpenAI or LiteLLM (repeatable)")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 10)

    with (
        OllamaServer() as ollama_server,
        OpenAIServer() as openai_server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TTT_HOME": str(Path(tmp) / "ttt-home"),
            "OLLAMA_HOST": ollama_server.url,
            "OLLAMA_API_BASE": ollama_server.url,
            "OPENAI_BASE_URL": openai_server.url + "/v1",
            "OPENAI_API_KEY": "sk-bench",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        for name in ("TTT_MODEL", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME"):
            env.pop(name, None)
        llm_home = Path(tmp) / "llm-home"
        llm = llm_cases(find_llm(args.llm), openai_server.url, env, llm_home)
        only = set(args.only)
        cases = [c for c in build_cases(env, llm) if not only or c.path in only or c.path == "startup"]
        print(
            f"bench_cli: {runs} runs per command, servers at {ollama_server.url} and {openai_server.url}",
            file=sys.stderr,
        )
        checks = {
            ("startup", "ttt --version"): module_check(["--version"], env, tmp),
            ("Ollama", "ttt -p"): module_check(["-p", "hi", "-m", f"ollama/{OLLAMA_MODEL}"], env, tmp),
            ("OpenAI", "ttt -p"): module_check(["-p", "hi", "-m", f"openai/{OPENAI_MODEL}"], env, tmp),
        }
        if not args.only or "LiteLLM" in args.only:
            checks[("LiteLLM", "ttt -p")] = module_check(["-p", "hi", "-m", LITELLM_MODEL], env, tmp)
        measure(cases, runs, tmp)

    print(
        f"\n## CLI latency ({runs} runs each, median / p90, process start to first stdout bytes and to exit)\n"
    )
    print(render(cases, checks))
    light = [checks[k] for k in checks if k[0] != "LiteLLM"]
    clean = all("error" not in r and not r.get("litellm") and not r.get("textual") for r in light)
    print(f"\nLiteLLM and Textual kept out of --version, Ollama and OpenAI paths: {'yes' if clean else 'NO'}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
