"""Local-model speed: time to first token and tokens/s, straight to llama-server vs through ttt.

One llama-server with the bundled SmolLM2 (started here, or --base-url to use a running one)
answers the same request (temperature 0, max_tokens 128) on five paths, interleaved, median of
--runs after one warm-up each:

  in-process   bare `openai` client        vs  ttt's LlamaCppBackend (attached to that server)
  subprocess   a bare `openai` client script  vs  `ttt -p` (a fresh process: start-up included)
               and `ttt -p` with no config, starting the offline server itself (the first run)

Time to first token is from just before the request (or the spawn) to the first text; tokens/s
is completion tokens over the time from first to last text. Temperature 0 makes every path
produce the same tokens, so the subprocess rows reuse the in-process token count (the table
says whether the text matched). The ratio column is ttt's tokens/s over the bare client's.

    python bench/bench_llamacpp.py [--runs 5] [--threads N] [--binary PATH | --base-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ttt.core.backends.llama_server import LlamaServer  # noqa: E402
from ttt.core.backends.llamacpp import LlamaCppBackend  # noqa: E402
from ttt.core.config import Config, LlamaCppConfig  # noqa: E402
from ttt.core.errors import AIError  # noqa: E402
from ttt.core.types import ChatRequest, Message, TextDelta, Usage  # noqa: E402

PROMPT = "Explain in a few sentences why the sky is blue."
MAX_TOKENS = 128
MODEL = "smollm2"
PY = sys.executable

BARE_SCRIPT = """\
import sys
from openai import OpenAI

client = OpenAI(base_url=sys.argv[1] + "/v1", api_key=sys.argv[3])
stream = client.chat.completions.create(
    model="smollm2", messages=[{"role": "user", "content": sys.argv[2]}],
    temperature=0, max_tokens=128, stream=True,
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
"""


@dataclass
class Run:
    """One request: seconds to first and last text, completion tokens, the text."""

    first: float
    last: float
    tokens: int
    text: str

    @property
    def rate(self) -> float:
        span = self.last - self.first
        return self.tokens / span if span > 0.001 else float("nan")  # nan: all text came at once


@dataclass
class Case:
    """One way of sending the request, and its runs."""

    group: str
    name: str
    measure: Callable[[], Run]
    baseline: str = ""  # the name of the row whose tokens/s this one is compared with
    runs: list[Run] = field(default_factory=list)
    error: str = ""


class BareClient:
    """The `openai` client as a ten-line script would use it: created once, one stream per run."""

    def __init__(self, url: str, key: str) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)

    def __call__(self) -> Run:
        start = time.perf_counter()
        first = last = 0.0
        tokens, text = 0, []
        stream = self.client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            temperature=0,
            max_tokens=MAX_TOKENS,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                last = time.perf_counter() - start
                first = first or last
                text.append(chunk.choices[0].delta.content)
        return Run(first, last, tokens, "".join(text))


class BackendClient:
    """ttt's backend as the engine uses it: one instance (and client) for every request."""

    def __init__(self, url: str, key: str) -> None:
        self.runner = asyncio.Runner()
        self.backend = LlamaCppBackend(Config(llamacpp=LlamaCppConfig(base_url=url, api_key=key)))

    async def _stream(self) -> Run:
        request = ChatRequest(MODEL, [Message.user(PROMPT)], temperature=0.0, max_tokens=MAX_TOKENS)
        start = time.perf_counter()
        first = last = 0.0
        tokens, text = 0, []
        async for event in self.backend.astream(request):
            if isinstance(event, TextDelta):
                last = time.perf_counter() - start
                first = first or last
                text.append(event.text)
            elif isinstance(event, Usage):
                tokens = event.output_tokens
        return Run(first, last, tokens, "".join(text))

    def __call__(self) -> Run:
        return self.runner.run(self._stream())

    def close(self) -> None:
        self.runner.run(self.backend.aclose())
        self.runner.close()


def subprocess_run(cmd: list[str], env: dict[str, str], tokens: Callable[[], int]) -> Run:
    """Spawn ``cmd``; time its first and last non-empty stdout bytes."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, bufsize=0, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = last = 0.0
    out = bytearray()
    while chunk := os.read(proc.stdout.fileno(), 65536):
        if chunk.strip():
            last = time.perf_counter() - start
            first = first or last
        out += chunk
    error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0 or not first:
        raise RuntimeError(f"exit {proc.returncode}: {(error or 'no output').splitlines()[-1]}")
    return Run(first, last, tokens(), out.decode("utf-8", "replace"))


def build_paths(url: str, key: str, home: Path, backend: BackendClient) -> list[Case]:
    """The five ways to send the request; the ttt rows name their baseline."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TTT_HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith("TTT_") or k == "TTT_HOME"}
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[llamacpp]\nbase_url = "{url}"\napi_key = "{key}"\n')
    own_env = env | {"TTT_HOME": str(home.with_name("ttt-home-own")), "OLLAMA_HOST": "http://127.0.0.1:9"}
    rows: list[Case] = []

    def tokens() -> int:  # temperature 0: every path yields what the bare client counted
        return statistics.median(r.tokens for r in rows[0].runs) if rows[0].runs else 0

    # The hook for the CLI path: `ttt -p` with the llamacpp model, attached through config.toml.
    ttt_cli = [
        PY,
        "-m",
        "ttt",
        "-p",
        PROMPT,
        "-m",
        f"llamacpp/{MODEL}",
        "-t",
        "0",
        "--max-tokens",
        str(MAX_TOKENS),
        "--raw",
    ]
    rows += [
        Case("in-process", "bare openai client", BareClient(url, key)),
        Case("in-process", "ttt LlamaCppBackend", backend, "bare openai client"),
        Case(
            "subprocess",
            "bare openai script",
            lambda: subprocess_run([PY, "-c", BARE_SCRIPT, url, PROMPT, key], env, tokens),
        ),
        Case("subprocess", "ttt -p", lambda: subprocess_run(ttt_cli, env, tokens), "bare openai script"),
        # The first-run path: no config, so `ttt -p` starts (and stops) the offline server itself.
        Case(
            "subprocess",
            "ttt -p, own server",
            lambda: subprocess_run(ttt_cli, own_env, tokens),
            "bare openai script",
        ),
    ]
    return rows


def measure(rows: list[Case], runs: int) -> None:
    """One warm-up, then ``runs`` interleaved rounds; a path that fails once is dropped."""
    for round_no in range(runs + 1):
        for row in rows:
            if row.error:
                continue
            try:
                run = row.measure()
            except (AIError, RuntimeError, OSError) as exc:
                row.error = str(exc).splitlines()[0]
                continue
            if round_no:
                row.runs.append(run)
        print(f"  round {round_no}/{runs} done", file=sys.stderr, flush=True)


def render(rows: list[Case]) -> str:
    by_name = {r.name: r for r in rows}
    reference = rows[0].runs[0].text.strip() if rows[0].runs else None
    lines = [
        "| path | client | first token (ms) | tokens/s | tokens | ratio tok/s | same text | notes |",
        "|" + "---|" * 8,
    ]
    for row in rows:
        if not row.runs:
            lines.append(f"| {row.group} | {row.name} | - | - | - | - | - | failed: {row.error} |")
            continue
        first = statistics.median(r.first for r in row.runs) * 1000
        rate = statistics.median(r.rate for r in row.runs)
        base = by_name.get(row.baseline)
        ratio = f"{rate / statistics.median(r.rate for r in base.runs):.2f}" if base and base.runs else ""
        same = "yes" if all(r.text.strip() == reference for r in row.runs) else "no"
        notes = (
            f"first token {first / statistics.median(r.first for r in base.runs) / 1000:.2f}x"
            if ratio
            else ""
        )
        tokens = statistics.median(r.tokens for r in row.runs)
        lines.append(
            f"| {row.group} | {row.name} | {first:.0f} | {rate:.1f} | {tokens:.0f} | {ratio} | {same} | "
            f"{notes} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per path (median)")
    parser.add_argument(
        "--binary",
        default=os.environ.get("TTT_TEST_LLAMA_SERVER", ""),
        help="llama-server to start (default: the embedded xllamacpp runtime)",
    )
    parser.add_argument("--threads", type=int, default=0, help="llama-server -t (default: its own)")
    parser.add_argument("--base-url", default="", help="use this running llama-server instead")
    args = parser.parse_args(argv)

    server = LlamaServer(LlamaCppConfig(binary=args.binary, base_url=args.base_url, threads=args.threads))
    try:
        started = time.perf_counter()
        url = server.start()
        ready = time.perf_counter() - started
    except AIError as exc:
        print(f"bench_llamacpp: cannot start llama-server: {exc.message}", file=sys.stderr)
        return 2
    try:
        how = "attached" if server.attached else f"started in {ready:.2f}s, pid {server.pid}"
        print(f"bench_llamacpp: llama-server at {url} ({how}); {args.runs} runs per path", file=sys.stderr)
        backend = BackendClient(url, server.api_key)
        with tempfile.TemporaryDirectory() as tmp:
            rows = build_paths(url, server.api_key, Path(tmp) / "ttt-home", backend)
            measure(rows, args.runs)
        backend.close()
    finally:
        server.stop()
    print(f"\n## llama.cpp: SmolLM2, temperature 0, max_tokens {MAX_TOKENS}, median of {args.runs}\n")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
