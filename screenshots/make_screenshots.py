"""Screenshots of ttt's main screens for the README: SVG, plus PNG when ``rsvg-convert`` exists.

    python screenshots/make_screenshots.py        # or: make screenshots

Every screen is the real app (``create_app`` + ``run_test``) at 120x36 with a fresh ``TTT_HOME``
and no API keys in the environment; replies and tool calls come from the project's own Ollama
server (``tests/providers``) with made-up data, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = Path(__file__).resolve().parent
HOME = Path(tempfile.gettempdir()) / "ttt-screenshots"  # fixed: the welcome panel shows this path
SIZE = (120, 36)
MODEL = "ollama/llama3.2"
DEAD_HOST = "http://127.0.0.1:9"  # nothing listens here: "no Ollama" on the welcome screen

TABLE_AND_CODE = """\
Here is how the three approaches compare on a 10,000-row CSV:

| Approach | Time | Memory | Notes |
|----------|-----:|-------:|-------|
| `csv.reader` | 41 ms | 2 MB | streams rows, no types |
| `pandas.read_csv` | 18 ms | 9 MB | typed columns |
| `polars.read_csv` | 6 ms | 5 MB | multi-threaded |

For a quick script, the standard library is enough:

```python
import csv
from collections import Counter

with open("orders.csv", newline="") as f:
    totals = Counter(row["country"] for row in csv.DictReader(f))

for country, count in totals.most_common(3):
    print(f"{country:<10} {count:>6}")
```

Reach for **polars** once the file no longer fits comfortably in memory.
"""


def clean_environment() -> None:
    """No keys, tokens or provider URLs from the caller's shell, and a fresh, fixed home."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_TOKEN", "_BASE_URL", "_API_BASE")) or name == "OLLAMA_HOST":
            del os.environ[name]
    shutil.rmtree(HOME, ignore_errors=True)
    os.environ["TTT_HOME"] = str(HOME)


async def wait_for(condition: Callable[[], bool], limit: float = 20) -> None:
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the app never got there")


async def settle(app: Any) -> None:
    """Until no turn or other worker runs, and the screen caught up."""
    await wait_for(lambda: app.turn is None and not any(w.is_running for w in app.workers))
    await asyncio.sleep(0.3)


async def shoot(name: str, app: Any, steps: Callable[[Any], Awaitable[None]]) -> Path:
    """Run ``steps`` against ``app`` and save what is on screen as ``name``.svg (and .png)."""
    async with app.run_test(size=SIZE) as pilot:
        app.composer.cursor_blink = False
        await settle(app)
        await steps(pilot)
        await pilot.pause(0.3)
        svg = OUT / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(OUT))
    if not shutil.which("rsvg-convert"):
        return svg
    # Textual writes spaces at the start of a run as no-break spaces, which librsvg drops unless
    # told to keep white space; the font is Fira Code (`apt-get install fonts-firacode`).
    kept = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", "-o", str(png)], input=kept.encode(), check=True)
    return png


async def type_prompt(pilot: Any, prompt: str) -> None:
    await pilot.press(*prompt, "enter")
    await asyncio.sleep(0.2)
    await settle(pilot.app)


def tools() -> list[Any]:
    """Made-up tools for the inspector: one reads, one deletes (denied), one fails."""
    from ttt.core.tools.base import tool

    @tool(permission="ask", register=False)
    def read_file(path: str) -> str:
        """Read a text file from the project."""
        return "# Release notes\n- faster start-up\n- session search"

    @tool(permission="ask", register=False)
    def run_shell(command: str) -> str:
        """Run a shell command."""
        return ""

    @tool(permission="ask", register=False)
    def http_get(url: str) -> str:
        """Fetch a URL."""
        raise ConnectionError("connection refused")

    return [read_file, run_shell, http_get]


async def main() -> int:
    clean_environment()
    from tests.providers import OllamaServer, Reply
    from ttt_tui.app import create_app
    from ttt_tui.screens.dialogs import ApprovalScreen

    made: list[Path] = []
    no_backends = {"ollama": {"host": DEAD_HOST}, "llamacpp": {"binary": "/nonexistent/llama-server"}}

    async def nothing(pilot: Any) -> None:
        await wait_for(lambda: pilot.app.connection_problem is not None)

    made.append(await shoot("welcome", create_app(settings=no_backends), nothing))

    with OllamaServer() as server:
        live = {"ollama": {"host": server.url}, "llamacpp": {"binary": "/nonexistent/llama-server"}}

        async def conversation(pilot: Any) -> None:
            server.script.push(
                Reply(text="Use `csv.DictReader` — it streams rows as dicts.", tokens_per_second=400)
            )
            await type_prompt(pilot, "How do I read a CSV file in Python?")
            server.script.push(Reply(text=TABLE_AND_CODE, tokens_per_second=800, usage=(412, 236)))
            await type_prompt(pilot, "Compare csv, pandas and polars, with a table and an example")

        made.append(await shoot("conversation", create_app(model=MODEL, settings=live), conversation))

        async def picker(pilot: Any) -> None:
            await pilot.press("ctrl+o")
            await settle(pilot.app)
            await pilot.press(*"llama")
            await pilot.pause(0.3)

        made.append(await shoot("model-picker", create_app(model=MODEL, settings=live), picker))

        async def inspector(pilot: Any) -> None:
            app = pilot.app
            server.script.push(
                Reply(tool_calls=[("read_file", {"path": "NOTES.md"})]),
                Reply(tool_calls=[("run_shell", {"command": "rm -rf build/"})]),
                Reply(tool_calls=[("http_get", {"url": "https://status.example.com/api"})]),
                Reply(
                    text="The notes list two changes; I did not clean `build/`, and the status page is down."
                ),
            )
            await pilot.press("ctrl+b")  # the sidebar makes room for the inspector
            await pilot.press(*"Summarise the release notes and check the status page", "enter")
            asked: list[object] = []
            for answer in ("y", "n", "y"):  # approve, deny, approve (and it fails)
                await wait_for(lambda: isinstance(app.screen, ApprovalScreen) and app.screen not in asked)
                asked.append(app.screen)
                await pilot.pause(0.2)
                await pilot.press(answer)
            await settle(app)

        app = create_app(model=MODEL, settings=live, tools=tools(), resume=False)
        made.append(await shoot("tool-inspector", app, inspector))

        async def help_screen(pilot: Any) -> None:
            await pilot.press("f1")
            await pilot.pause(0.3)

        made.append(await shoot("help", create_app(model=MODEL, settings=live), help_screen))

    for path in made:
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
