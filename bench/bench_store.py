"""Session store timings at 10k, 100k and 1M messages (1,000 sessions each).

Builds each database once with a bulk insert (cached under the temp dir, keyed on size and schema
version), then times the operations a user waits for: listing sessions, searching, and opening
the newest 200 messages of a long session. Prints the median of several runs in milliseconds.

    python bench/bench_store.py [--sizes 10000,100000,1000000] [--runs 7] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ttt.core.session.migrations import LATEST
from ttt.core.session.store import Store
from ttt.core.types import Message

SESSIONS = 1_000
LONG_SESSION = 10_000  # messages in the session we open; at 10k total it gets half of them
VOCABULARY = 20_000
BATCH = 50_000
POOL = 1_000_000


def words() -> tuple[list[str], list[float]]:
    """Pseudo-words with Zipf frequencies, so there are very common and very rare terms."""
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(VOCABULARY * 2)})
    rng.shuffle(vocab)
    vocab = vocab[:VOCABULARY]
    cumulative, total = [], 0.0
    for rank in range(1, VOCABULARY + 1):
        total += 1 / rank
        cumulative.append(total)
    return vocab, cumulative


def build(path: Path, messages: int) -> float:
    """Bulk-load ``messages`` messages into the real schema in one transaction.

    The per-row search trigger is set aside during the load and the index rebuilt in one pass
    (much faster than row by row); the trigger is then restored from its own saved SQL.
    """
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    Store(tmp).close()
    vocab, cumulative = words()
    rng = random.Random(2)
    pool = rng.choices(vocab, cum_weights=cumulative, k=POOL)  # messages are slices of this text
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")  # 256 MB
    db.execute("BEGIN")
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'parts_fts_insert'").fetchone()[0]
    db.execute("DROP TRIGGER parts_fts_insert")
    ids = [f"{n:012x}" for n in range(SESSIONS)]
    now = time.time() - messages  # one message a second, ending now
    db.executemany(
        "INSERT INTO sessions(id, title, model, created, updated) VALUES (?, ?, 'bench/model', ?, ?)",
        [(sid, " ".join(rng.choices(vocab[:2000], k=4)), now, now) for sid in ids],
    )
    long_count = min(LONG_SESSION, messages // 2)
    last: dict[str, int] = {}
    for first in range(0, messages, BATCH):
        rows, parts = [], []
        for number in range(first + 1, min(first + BATCH, messages) + 1):
            # the long session's messages are spread evenly through the whole history
            long_turn = (number * long_count) // messages != ((number - 1) * long_count) // messages
            sid = ids[0] if long_turn else ids[1 + number % (SESSIONS - 1)]
            rows.append((number, sid, last.get(sid), "user" if number % 2 else "assistant", now + number))
            start = rng.randrange(POOL - 60)
            text = " ".join(pool[start : start + 10 + number % 50])
            parts.append((number, json.dumps({"text": text, "type": "text"})))
            last[sid] = number
        db.executemany(
            "INSERT INTO messages(id, session_id, parent_id, role, created) VALUES (?, ?, ?, ?, ?)", rows
        )
        db.executemany("INSERT INTO parts(message_id, seq, type, data) VALUES (?, 0, 'text', ?)", parts)
    db.execute(
        "UPDATE sessions SET updated = coalesce((SELECT max(created) FROM messages m "
        "WHERE m.session_id = sessions.id), updated)"
    )
    db.execute("INSERT INTO parts_fts(parts_fts) VALUES ('rebuild')")
    db.execute(trigger)
    db.execute("COMMIT")
    db.execute("PRAGMA optimize")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    tmp.rename(path)
    return time.perf_counter() - started


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache, as a second look in the TUI would
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(path: Path, runs: int) -> dict[str, float]:
    vocab, _ = words()
    common, middle, rare = vocab[3], vocab[300], vocab[15_000]
    results = {"open store": median_ms(lambda: Store(path).close(), runs)}
    with Store(path) as store:
        long_id = f"{0:012x}"
        operations: dict[str, Callable[[], object]] = {
            "list sessions (first 50)": lambda: store.list_sessions(50),
            f"search '{common}' (very common)": lambda: store.search(common, 20),
            f"search '{middle}' (common)": lambda: store.search(middle, 20),
            f"search '{rare}' (rare)": lambda: store.search(rare, 20),
            f"search '{common} {middle}' (two words)": lambda: store.search(f"{common} {middle}", 20),
            f"search '{middle[:3]}*' (prefix)": lambda: store.search(middle[:3] + "*", 20),
            "newest 200 of the long session": lambda: store.messages(long_id, limit=200),
            "branch history, newest 200": lambda: store.history(long_id, limit=200),
        }
        for name, fn in operations.items():
            results[name] = median_ms(fn, runs)
        scratch = store.create_session("bench writes")
        results["add_message (write)"] = median_ms(
            lambda: store.add_message(scratch.id, Message.user("hi")), runs
        )
        store.delete(scratch.id)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="rebuild cached databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cache = Path(tempfile.gettempdir()) / "ttt-bench"
    cache.mkdir(exist_ok=True)
    columns: dict[int, dict[str, float]] = {}
    for size in sizes:
        path = cache / f"store-{size}-v{LATEST}.db"
        if args.rebuild or not path.exists():
            print(f"building {size:,} messages ...", file=sys.stderr, flush=True)
            seconds = build(path, size)
            print(f"  built in {seconds:.1f} s", file=sys.stderr)
        print(f"{size:,} messages: {path} ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
        columns[size] = measure(path, args.runs)
    labels = [f"{s // 1000}k" if s < 1_000_000 else f"{s // 1_000_000}M" for s in sizes]
    rows = list(next(iter(columns.values())))
    width = max(len(r) for r in rows)
    print(
        f"\nmedian of {args.runs} runs, ms; {SESSIONS:,} sessions; long session = "
        f"{min(LONG_SESSION, sizes[0] // 2):,}+ messages"
    )
    print(f"| {'operation':<{width}} | " + " | ".join(f"{label:>8}" for label in labels) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * 10 for _ in labels) + "|")
    for row in rows:
        print(f"| {row:<{width}} | " + " | ".join(f"{columns[s][row]:>8.2f}" for s in sizes) + " |")


if __name__ == "__main__":
    main()
