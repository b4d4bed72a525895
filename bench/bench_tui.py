"""The TUI against plain Textual widgets: first frame, a 16k-token stream, a 10k-message session.

    python bench/bench_tui.py [--quick]

- Start-up: ``python -m ttt -m ollama/llama3.2`` and a bare Textual App(Header, Footer) under a
  120x36 pty: spawn to the first output after the alternate-screen switch that holds the footer.
  One more ttt run lists ``sys.modules`` at exit: LiteLLM must not be among them.
- Stream: 16,000 Markdown tokens (headings, lists, tables, code, some of it 240 lines) at 2,000 tok/s from the project's
  Ollama server into ttt (``create_app`` + ``run_test``, prompt sent from the composer), into
  ``Markdown.update(text)`` once per frame, and into ``MarkdownStream``. "Received" is stamped
  in the app's event handler, "on screen" at the first screen update after the renderer took the
  text; every screen update is also serialised to ANSI, which a headless app skips. A key is
  pressed every 200 ms (posted like the driver does) and timed until the input's value has it.
- Session: a stored 10,000-message session (``Store`` under a temp ``TTT_HOME``) opened by
  ``create_app(session_id=...)``; Textual's ``Markdown`` per message, paged the same way, beside it.
  Then ``PAGES`` scrolls to the top, each loading an older page; RSS from /proc/self/status.

Each measurement runs in a fresh process (``--child KIND``); the Ollama server runs in its own
process (``--serve``) so its threads never take the app's GIL. The table shows medians.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import fcntl
import json
import os
import platform
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL, SIZE, RATE, TOKENS, MESSAGES, PAGES = "ollama/llama3.2", (120, 36), 2000.0, 16_000, 10_000, 10
WINDOWS = ((500, 1500, "1k"), (7500, 8500, "8k"), (14500, 15500, "15k"))  # tokens on screen
STREAMS = ("ttt", "update", "mdstream")
BARE_APP = """\
from textual.app import App
from textual.widgets import Footer, Header
class Bare(App):
    def compose(self):
        yield Header()
        yield Footer()
Bare().run()
"""
MODULES_AT_EXIT = """\
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["ttt", "-m", sys.argv[2]]
runpy.run_module("ttt", run_name="__main__", alter_sys=True)
"""


def reply_chunks(tokens: int = TOKENS) -> list[str]:
    """A Markdown reply in ``tokens`` word-sized chunks: headings, prose, lists, tables and code
    (mostly 12 lines, every 40th section 240)."""
    sections, words, n = [], 0, 0
    while words < tokens:
        n += 1
        prose = f"Streaming *Markdown* with `code`, **bold** text and a [link](https://x.org/{n}). " * 3
        rows = "".join(f"| r{j} | {j * n} | cell {j} |\n" for j in range(4))
        long = n % 40 == 20  # now and then a 240-line block, as models write
        code = "".join(f"def f{j}(x: int) -> int:\n    return x * {j}\n" for j in range(120 if long else 6))
        sections.append(
            f"## Section {n}\n\n{prose}\n\n- one\n- two with `code`\n\n"
            f"| name | value | note |\n|---|---|---|\n{rows}\n```python\n{code}```\n\n"
        )
        words += len(sections[-1].split())
    return re.findall(r"\s*\S+", "".join(sections))[:tokens]  # a word with the space before it


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


async def deadline(condition: Callable[[], bool], limit: float = 400) -> None:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > limit:
            raise TimeoutError(f"not done after {limit:.0f} s")
        await asyncio.sleep(0.005)


class Probe:
    """What an app received and rendered, and every screen update it painted."""

    def __init__(self, chunks: list[str]) -> None:
        self.offsets = [0]
        for chunk in chunks:
            self.offsets.append(self.offsets[-1] + len(chunk))
        self.total = self.offsets[-1]
        self.recv = self.shown = 0  # characters
        self.first = self.last = self.ready_at = 0.0
        self.paints: list[list[float]] = []  # [time, tokens received, tokens shown, cpu s, update ms]
        self.keys: list[tuple[float, float]] = []  # (pressed at, ms until the input had it)
        self.ready: Callable[[], bool] = lambda: False
        from textual.screen import Screen

        update = Screen._on_timer_update  # bound when a screen mounts: patch before the app starts

        def timed(screen: Any) -> None:
            start, count = time.perf_counter(), len(self.paints)
            update(screen)
            if len(self.paints) > count:
                self.paints[-1][4] = (time.perf_counter() - start) * 1000

        Screen._on_timer_update = timed  # type: ignore[method-assign]

    def tokens(self, chars: int) -> int:
        return bisect.bisect_right(self.offsets, chars) - 1

    def received(self, text: str) -> None:
        now = time.perf_counter()
        self.first, self.recv = self.first or now, self.recv + len(text)
        if self.recv >= self.total:
            self.last = now

    def attach(self, app: Any) -> None:
        """Record each screen update, serialised to ANSI as the terminal would get it (headless skips that)."""
        from textual._compositor import CompositorUpdate

        display = app._display

        def painted(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(app.console)
                now = time.perf_counter()
                self.paints.append(
                    [now, self.tokens(self.recv), self.tokens(self.shown), time.process_time(), 0]
                )
                if not self.ready_at and self.ready():
                    self.ready_at = now

        app._display = painted

    async def press_keys(self, app: Any, value: Callable[[], str], done: Callable[[], bool]) -> None:
        """Every 200 ms a key as the driver sends it; time until the input's value has it. Goes on
        for a second after ``done``: what the end of a reply costs shows there."""
        from textual.events import Key

        ended = 0.0
        while not ended or time.perf_counter() - ended < 1:
            ended = ended or (time.perf_counter() if done() else 0.0)
            await asyncio.sleep(0.2)
            before, start = value(), time.perf_counter()
            app.post_message(Key("x", "x"))
            while value() == before and time.perf_counter() - start < 10:
                await asyncio.sleep(0.001)
            self.keys.append((start, (time.perf_counter() - start) * 1000))

    def report(self) -> dict[str, Any]:
        shown = next((p[0] for p in self.paints if p[2] >= self.tokens(self.total)), float("nan"))
        out = {
            "rate": TOKENS / (shown - self.first),
            "recv_rate": TOKENS / (self.last - self.first),
            "lag": (shown - self.last) * 1000,
            "key_med": statistics.median(during := [ms for at, ms in self.keys if at < self.last]),
            "key_max": max(during),
            "key_after": max((ms for at, ms in self.keys if at >= self.last), default=float("nan")),
        }
        for lo, hi, label in WINDOWS:
            before = [p for p in self.paints if 0 < p[2] <= lo]
            a = before[-1] if before else next((p for p in self.paints if p[2] >= lo), None)
            b = next((p for p in self.paints if p[2] >= hi), None)
            if a and b and 0 < b[2] - a[2] <= 2 * (hi - lo):  # else one update jumped the window
                out[f"rate@{label}"] = (b[2] - a[2]) / (b[0] - a[0])
                out[f"cpu@{label}"] = (b[3] - a[3]) / (b[2] - a[2]) * 1e6
            inside = [p[4] for p in self.paints if lo <= p[2] < hi and p[4]]
            out[f"paint@{label}"] = statistics.median(inside) if inside else float("nan")
        return out


async def stream_ttt(probe: Probe) -> None:
    """The real app: a prompt from the composer, the reply from the Ollama server."""
    from ttt.core.types import TextDelta
    from ttt_tui.app import create_app
    from ttt_tui.turn import Turn
    from ttt_tui.widgets.message import AssistantMessage

    handle, flush = Turn.handle, AssistantMessage.flush

    def on_event(turn: Turn, event: Any) -> None:
        if isinstance(event, TextDelta):
            probe.received(event.text)
        handle(turn, event)

    def on_flush(reply: AssistantMessage) -> None:
        flush(reply)
        probe.shown = len(reply.text)

    Turn.handle, AssistantMessage.flush = on_event, on_flush  # type: ignore[method-assign]
    app = create_app(model=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        probe.attach(app)
        await pilot.pause()
        app.composer.load_text("go")
        app.composer.action_submit()
        await deadline(lambda: app.turn is not None, 30)
        keys = asyncio.create_task(probe.press_keys(app, lambda: app.composer.text, lambda: app.turn is None))
        await deadline(lambda: app.turn is None)
        await keys
        await pilot.pause(0.2)


async def stream_plain(probe: Probe, url: str, kind: str) -> None:
    """The same stream, read with the ``ollama`` client, into Textual's own ``Markdown``."""
    import ollama
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Footer, Header, Markdown, TextArea

    class Plain(App[None]):
        CSS = "VerticalScroll { height: 1fr; } TextArea { height: 4; }"
        text, done = "", False

        def compose(self) -> ComposeResult:
            yield Header()
            with VerticalScroll():
                yield Markdown()
            yield TextArea()
            yield Footer()

        def on_mount(self) -> None:
            self.query_one(VerticalScroll).anchor()
            self.query_one(TextArea).focus()

        async def run_stream(self) -> None:
            markdown = self.query_one(Markdown)
            stream = Markdown.get_stream(markdown) if kind == "mdstream" else None
            if stream is None:
                self.set_interval(1 / 20, self.frame)  # coalesced: one update per frame
            else:
                append = markdown.append

                async def counted(fragment: str) -> None:
                    await append(fragment)
                    probe.shown += len(fragment)

                markdown.append = counted  # type: ignore[method-assign,assignment]
            messages = [{"role": "user", "content": "go"}]
            async for part in await ollama.AsyncClient(host=url).chat("llama3.2", messages, stream=True):
                if part.message.content:
                    probe.received(part.message.content)
                    self.text += part.message.content
                    if stream is not None:
                        await stream.write(part.message.content)
            if stream is not None:
                await stream.stop()
            self.done = True

        async def frame(self) -> None:
            text = self.text
            if len(text) > probe.shown:
                await self.query_one(Markdown).update(text)
                probe.shown = len(text)

    app = Plain()
    async with app.run_test(size=SIZE) as pilot:
        probe.attach(app)
        await pilot.pause()
        area = app.query_one(TextArea)
        task = asyncio.create_task(app.run_stream())
        keys = asyncio.create_task(probe.press_keys(app, lambda: area.text, lambda: app.done))
        await deadline(lambda: app.done and probe.shown >= probe.total)
        await asyncio.gather(task, keys)
        await pilot.pause(0.2)


def build_session() -> str:
    """One stored session of ``MESSAGES`` messages under ``TTT_HOME``; the newest says so."""
    from ttt.core.session.serialize import SessionRecord, StoredMessage
    from ttt.core.session.store import Store
    from ttt.core.types import TextPart

    def text(i: int) -> str:
        if i == MESSAGES - 1:
            return "The newest message: **done**."
        if i % 2 == 0:
            return f"Question {i}: how do I sort a list of tuples by the second item?"
        return f"Answer {i}: use `sorted(items, key=lambda t: t[1])`.\n\n```python\nprint({i})\n```"

    now = time.time()
    messages = [
        StoredMessage(i + 1, "", ("user", "assistant")[i % 2], [TextPart(text(i))], i or None, created=now)  # type: ignore[arg-type]
        for i in range(MESSAGES)
    ]
    with Store.default() as store:
        return store.insert_session(SessionRecord("bench10k", "10k messages", MODEL), messages).id


async def pages_up(pilot: Any, scroll: Any, first: Callable[[], object]) -> dict[str, float]:
    """Scroll to the top ``PAGES`` times, each time until the older page is mounted and painted."""
    times = []
    for _ in range(PAGES):
        before, start = first(), time.perf_counter()
        if scroll.scroll_y == 0:  # still at the top from the last page: move so the top is reached again
            scroll.scroll_to(y=1, animate=False, immediate=True)
        scroll.scroll_home(animate=False)
        await deadline(lambda before=before: first() != before, 60)  # type: ignore[misc]
        await pilot.pause()
        times.append((time.perf_counter() - start) * 1000)
    return {"page1": times[0], "page_last": times[-1], "rss2": rss_mb()}


async def open_ttt(probe: Probe, session_id: str) -> dict[str, Any]:
    """``create_app(session_id=...)`` until the newest message is painted; then switching back to it."""
    from ttt_tui.app import create_app
    from ttt_tui.widgets.message import MessageView

    def newest() -> bool:
        views = list(app.transcript.query_children(MessageView))
        return bool(views) and "newest message" in views[-1].text

    base, start = rss_mb(), time.perf_counter()
    app = create_app(model=MODEL, session_id=session_id)
    probe.ready = newest
    async with app.run_test(size=SIZE) as pilot:
        probe.attach(app)
        await deadline(lambda: probe.ready_at > 0, 60)
        out = {"open": (probe.ready_at - start) * 1000, "rss0": base, "rss1": rss_mb()}
        await app.action_new_session()
        await pilot.pause()
        probe.ready_at, start = 0.0, time.perf_counter()
        await app.open_session(session_id)
        await deadline(lambda: probe.ready_at > 0, 60)
        out["switch"] = (probe.ready_at - start) * 1000
        return out | await pages_up(pilot, app.transcript, lambda: app.transcript.first_index)


async def open_plain(probe: Probe, session_id: str) -> dict[str, Any]:
    """Textual's ``Markdown``, one per message, paged from the same store the way ttt pages."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Footer, Markdown

    from ttt.core.session.store import Store

    store = Store.default()

    class Log(VerticalScroll):
        def watch_scroll_y(self, old: float, new: float) -> None:
            super().watch_scroll_y(old, new)
            if new <= 0 < self.max_scroll_y:
                self.app.call_later(self.app.page)  # type: ignore[attr-defined]

    class Plain(App[None]):
        first = 2**62

        def compose(self) -> ComposeResult:
            yield Log()
            yield Footer()

        async def on_mount(self) -> None:
            await self.page()
            self.query_one(Log).anchor()

        async def page(self) -> None:
            found = store.messages(session_id, 20, self.first)
            if found and found[0].id < self.first:
                self.first, log = found[0].id, self.query_one(Log)
                height = log.virtual_size.height
                await log.mount_all([Markdown(m.text) for m in found], before=0 if log.children else None)
                keep = lambda: log.scroll_to(y=log.scroll_y + log.virtual_size.height - height, animate=False)  # noqa: E731
                log.call_after_refresh(keep)  # where the reader was, as ttt's transcript does

    base, start = rss_mb(), time.perf_counter()
    app = Plain()
    probe.ready = lambda: any("newest message" in m.source for m in app.query(Markdown))
    async with app.run_test(size=SIZE) as pilot:
        probe.attach(app)
        await deadline(lambda: probe.ready_at > 0, 60)
        out = {"open": (probe.ready_at - start) * 1000, "rss0": base, "rss1": rss_mb()}
        return out | await pages_up(pilot, app.query_one(Log), lambda: app.first)


def child(kind: str, url: str, home: str) -> dict[str, Any]:
    os.environ.update(TTT_HOME=home, OLLAMA_HOST=url)
    probe = Probe(reply_chunks())
    if kind.startswith("open-"):
        return asyncio.run((open_ttt if kind == "open-ttt" else open_plain)(probe, build_session()))
    asyncio.run(stream_ttt(probe) if kind == "ttt" else stream_plain(probe, url, kind))
    return probe.report()


def serve(replies: int) -> None:
    from tests.providers import OllamaServer, Reply

    server = OllamaServer().start()
    for _ in range(replies):
        server.script.push(Reply(chunks=reply_chunks(), tokens_per_second=RATE))
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes the pipe


def first_frame(cmd: list[str], env: dict[str, str], marker: bytes = b"palette") -> float:
    """Milliseconds from spawn to the first output, after the switch to the alternate screen,
    that holds ``marker`` (the footer's last words, so the whole screen was drawn)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen, out = float("nan"), b""
    while time.perf_counter() - start < 60 and seen != seen:
        if select.select([master], [], [], 0.05)[0]:
            out += os.read(master, 1 << 16)
            screen = out.partition(b"\x1b[?1049h")[2]
            if marker in re.sub(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]", b"", screen):
                seen = (time.perf_counter() - start) * 1000
    os.write(master, b"\x11")  # Ctrl+Q
    while proc.poll() is None and time.perf_counter() - start < 90:
        if select.select([master], [], [], 0.05)[0]:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    os.close(master)
    return seen


def run_child(kind: str, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ttt-bench-") as home:
        cmd = [sys.executable, __file__, "--child", kind, "--url", url, "--home", home]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if done.returncode:
        sys.stderr.write(f"{kind} failed:\n{done.stderr[-3000:]}\n")
        return {}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each stream and open, 3 starts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--home", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    elif args.child:
        print(json.dumps(child(args.child, args.url, args.home)))
    else:
        runs = (3, 1, 1) if args.quick else (7, 3, 3)
        pipe = subprocess.PIPE
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", "20"], stdin=pipe, stdout=pipe, text=True
        )
        assert server.stdin is not None and server.stdout is not None
        try:
            return report(server.stdout.readline().strip(), *runs)
        finally:
            server.stdin.close()
            server.wait(10)
    return 0


def report(url: str, starts: int, streams: int, opens: int) -> int:
    frames: dict[str, list[float]] = {"ttt": [], "bare": [], "pass": []}
    with tempfile.TemporaryDirectory(prefix="ttt-bench-") as home:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed
        env |= {"TTT_HOME": home, "OLLAMA_HOST": url, "PYTHONPATH": str(REPO)}
        env |= {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
        cmds = {"ttt": [sys.executable, "-m", "ttt", "-m", MODEL], "bare": [sys.executable, "-c", BARE_APP]}
        first_frame(cmds["ttt"], env)  # warm-up: byte-code caches, the config and data folders
        for _ in range(starts):
            for name, cmd in cmds.items():
                frames[name].append(first_frame(cmd, env))
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
            frames["pass"].append((time.perf_counter() - start) * 1000)
        listing = Path(home) / "modules.json"
        first_frame([sys.executable, "-c", MODULES_AT_EXIT, str(listing), MODEL], env)
        modules = json.loads(listing.read_text()) if listing.exists() else ["?"]
    heavy = [name for name in ("litellm", "openai", "ollama") if name in modules]
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in (*STREAMS, "open-ttt", "open-plain")}
    for run in range(streams):  # interleaved, so load drift hits every column alike
        for kind in STREAMS[: 3 if run == 0 else 2]:  # MarkdownStream takes minutes: one run
            results[kind].append(run_child(kind, url))
    for _ in range(opens):
        for kind in ("open-ttt", "open-plain"):
            results[kind].append(run_child(kind, url))

    def med(kind: str, key: str, fmt: str = "{:.0f}") -> str:
        values = [row[key] for row in results[kind] if row.get(key) == row.get(key) and key in row]
        return fmt.format(statistics.median(values)) if values else "—"

    def cells(key: str, fmt: str = "{:.0f}", kinds: tuple[str, ...] = STREAMS) -> str:
        return " | ".join(med(kind, key, fmt) for kind in kinds)

    def windows(title: str, key: str, fmt: str, target: str) -> list[str]:
        return [f"{title} @{w} | {cells(f'{key}@{w}', fmt)} | {target}" for _, _, w in WINDOWS]

    ms = {k: f"{statistics.median(v):.0f}" for k, v in frames.items()}
    keys = [
        f"{a} / {b}"
        for a, b in zip(cells("key_med").split(" | "), cells("key_max").split(" | "), strict=True)
    ]
    opened = ("open-ttt", "open-plain")
    rss = [" / ".join(med(k, r) for r in ("rss0", "rss1", "rss2")) for k in opened]
    lines = [
        f"**start-up**, pty {SIZE[0]}x{SIZE[1]}, median of {starts} | ttt | bare App(Header, Footer) | `python -c pass` | target",
        "---|---|---|---|---".replace("|", " | "),
        f"first frame (footer drawn), ms | {ms['ttt']} | {ms['bare']} | {ms['pass']} (exit) | report",
        f"litellm/openai/ollama imported by `ttt` at exit | {', '.join(heavy) or 'none'} | {len(modules)} modules | | no litellm",
        f"**16k-token Markdown stream at {RATE:.0f} tok/s**, median of {streams} | ttt | "
        "`Markdown.update` per frame | `MarkdownStream` (1 run) |",
        f"received by the app, tok/s | {cells('recv_rate')} | {RATE:.0f}",
        f"on screen, whole reply, tok/s | {cells('rate')} | ≈{RATE:.0f}",
        *windows("on screen, tok/s", "rate", "{:.0f}", f"≈{RATE:.0f}"),
        f"lag, last token received → painted, ms | {cells('lag')} | < 100",
        *windows("CPU per token, µs", "cpu", "{:.0f}", "flat"),
        *windows("screen update (layout+paint+ANSI), ms", "paint", "{:.1f}", "flat"),
        f"key → in the input while it streams, median / worst, ms | {' | '.join(keys)} | < 50",
        f"key → in the input, worst in the second after the last token, ms | {cells('key_after')} |",
        f"**{MESSAGES:,}-message session**, median of {opens} | ttt | `Markdown` per message, same paging | |",
        f"app start → newest message painted, ms | {cells('open', kinds=opened)} | | < 200",
        f"switch to it from a new session, ms | {med('open-ttt', 'switch')} | | | < 200",
        f"load an older page (1st / {PAGES}th), ms | "
        + " | ".join(f"{med(k, 'page1')} / {med(k, 'page_last')}" for k in opened)
        + " | |",
        f"RSS before / opened / {PAGES} pages up, MB | {rss[0]} | {rss[1]} | | bounded",
    ]
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    print(f"machine: {os.cpu_count()} CPUs, {cpu.group(1) if cpu else platform.processor()}, ", end="")
    print(
        f"load {os.getloadavg()[0]:.1f}; Python {platform.python_version()}, Textual {version('textual')}\n"
    )
    print("\n".join(f"| {line} |" for line in lines))
    failed = any(not row for rows_ in results.values() for row in rows_)
    return 1 if failed or "litellm" in heavy else 0


if __name__ == "__main__":
    sys.exit(main())
