"""First-run cost: a fresh clone's `make install` (the README's first command, without opening the
app), timed as a whole, with pip's cache warm, and the size of the virtual environment it made.

Each run clones the committed HEAD of this checkout into a temporary folder and runs
`make install` there with --python (default: python3), so nothing of this checkout's .venv is
reused. The first run also warms pip's cache and is not counted.

    python bench/bench_install.py [--runs 3] [--python /usr/bin/python3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install_once(python: str) -> tuple[float, int]:
    """Seconds for `make install` in a fresh clone, and the bytes of the .venv it made."""
    with tempfile.TemporaryDirectory(prefix="ttt-install-") as tmp:
        clone = Path(tmp) / "ttt"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        started = time.perf_counter()
        subprocess.run(
            ["make", "install", f"PYTHON={python}"], cwd=clone, check=True, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        answered = subprocess.run(
            [str(clone / ".venv" / "bin" / "ttt"), "--version"], capture_output=True, text=True, check=True
        )
        assert answered.stdout.strip(), "the installed ttt did not run"
        return seconds, folder_size(clone / ".venv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="counted runs (median)")
    parser.add_argument("--python", default="python3", help="the interpreter make uses to create .venv")
    args = parser.parse_args(argv)
    print(f"bench_install: warm-up, then {args.runs} runs of `make install`", file=sys.stderr, flush=True)
    install_once(args.python)
    runs = [install_once(args.python) for _ in range(args.runs)]
    seconds = sorted(r[0] for r in runs)
    size = statistics.median(r[1] for r in runs) / 1e6
    print(f"\n## `make install` in a fresh clone, pip cache warm, median of {args.runs}\n")
    print("| figure | min | median | max |\n|---|---|---|---|")
    print(f"| wall seconds | {seconds[0]:.1f} | {statistics.median(seconds):.1f} | {seconds[-1]:.1f} |")
    print(f"| .venv size, MB | | {size:.0f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
