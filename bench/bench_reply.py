"""A 1 MB reply through `ttt -p`: what saving it as it streams costs, against `--no-save`.

The project's Ollama-protocol server streams a ~1 MB reply in 64-character chunks as fast as it
can; `ttt -p` runs in a fresh process each time, into a new TTT_HOME. Bytes written are read
from the finished (not yet reaped) process's ``/proc/<pid>/io``: ``wchar`` (bytes passed to
write calls, stdout included) and ``write_bytes`` (bytes sent towards the disk). Prints medians.

    python bench/bench_reply.py [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.providers import OllamaServer, Reply  # noqa: E402

TEXT = " ".join(f"word{i}" for i in range(110_000))  # about 1 MB
MODEL = "ollama/llama3.2"


def one_run(server: OllamaServer, save: bool) -> tuple[float, int, int]:
    """Seconds, wchar and write_bytes of one `ttt -p` with a fresh store."""
    server.script.push(Reply(chunks=[TEXT[i : i + 64] for i in range(0, len(TEXT), 64)]))
    with tempfile.TemporaryDirectory(prefix="ttt-bench-reply-") as home:
        env = {**os.environ, "TTT_HOME": home, "OLLAMA_HOST": server.url, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "ttt", "-p", "hi", "-m", MODEL, *([] if save else ["--no-save"])]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # finished, still readable
        seconds = time.perf_counter() - started
        io = dict(line.split(": ") for line in Path(f"/proc/{child.pid}/io").read_text().splitlines())
        error = child.stderr.read() if child.stderr else b""
        if child.wait() != 0:
            raise SystemExit(f"ttt failed: {error.decode(errors='replace')}")
        return seconds, int(io["wchar"]), int(io["write_bytes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="two runs")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    results: dict[bool, list[tuple[float, int, int]]] = {True: [], False: []}
    with OllamaServer() as server:
        for _ in range(runs):  # interleaved, so load changes hit both alike
            for save in (True, False):
                results[save].append(one_run(server, save))
    print(f"1 MB reply ({len(TEXT):,} characters), medians of {runs} runs\n")
    print("| `ttt -p` | seconds | wchar (MB) | write_bytes (MB) |")
    print("|---|---|---|---|")
    for save, label in ((True, "saved to the store"), (False, "`--no-save`")):
        seconds, wchar, written = (statistics.median(column) for column in zip(*results[save], strict=True))
        print(f"| {label} | {seconds:.2f} | {wchar / 1e6:.1f} | {written / 1e6:.1f} |")


if __name__ == "__main__":
    main()
