"""Run every ``bench/bench_*.py`` in turn, each as its own process, and let it print its table.

    python bench/run.py [--quick] [--only cli --only store ...]

``--quick`` is passed through to each benchmark that accepts it (its source mentions
``--quick``); the others run with their defaults. Exits non-zero if any benchmark failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks(only: list[str]) -> list[Path]:
    """The bench scripts, alphabetically; ``only`` filters by name (``cli`` or ``bench_cli``)."""
    found = sorted(HERE.glob("bench_*.py"))
    if not only:
        return found
    wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
    return [path for path in found if path.stem.removeprefix("bench_") in wanted]


def run(path: Path, quick: bool) -> tuple[int, float]:
    """Run one benchmark with inherited stdout/stderr; return its exit code and seconds."""
    cmd = [sys.executable, str(path)]
    if quick:
        if "--quick" in path.read_text(encoding="utf-8"):
            cmd.append("--quick")
        else:
            print(f"(note: {path.name} has no --quick; running its defaults)", flush=True)
    start = time.perf_counter()
    code = subprocess.call(cmd, cwd=HERE.parent)
    return code, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a fast look")
    parser.add_argument("--only", action="append", default=[], help="run just this benchmark (repeatable)")
    args = parser.parse_args(argv)
    paths = benchmarks(args.only)
    if not paths:
        print("no benchmarks matched", file=sys.stderr)
        return 2
    results: list[tuple[str, int, float]] = []
    for path in paths:
        print(f"\n# {path.name}\n", flush=True)
        code, seconds = run(path, args.quick)
        results.append((path.name, code, seconds))
    print("\n# summary\n")
    for name, code, seconds in results:
        print(f"- {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {seconds:.0f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
