"""What an empty session shows: how to start, and — when no model answers — how to connect one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown

INTRO = """\
# Welcome to ttt

Type a prompt below and press **Enter**. **Shift+Enter** adds a line, **Esc** stops a reply,
**Ctrl+P** opens the command palette and **F1** lists every key.
"""

CONNECT = """\
## Connect a model

{situation}

- **A cloud key** — `export OPENAI_API_KEY=sk-…` or `export ANTHROPIC_API_KEY=…`, then restart ttt.
- **Ollama** — run `ollama serve` and `ollama pull llama3.2`; for another machine set
  `OLLAMA_HOST=http://host:11434`.
- **Any OpenAI-compatible server** — `export OPENAI_BASE_URL=http://localhost:8000/v1`.
- **The config file** — set `model = "…"` and `[providers.<name>]` in `{config_path}`.
- **Offline model** (SmolLM2, bundled) — {offline}

Run `ttt status` in a shell to see what ttt finds.
"""


class Welcome(Vertical):
    """Shown in place of the transcript for an empty session: how to start, which model answers
    (or why none can), every way to connect one, and whether the offline model runs here."""

    def __init__(self, problem: str | None, config_path: str, model: str | None, offline: str) -> None:
        super().__init__(id="welcome")
        self.problem = problem
        self.config_path = config_path
        self.model = model
        self.offline = offline

    def compose(self) -> ComposeResult:
        yield Markdown(INTRO, classes="intro")
        if self.problem:
            title = self.problem.split(":", 1)[0]
            situation = f"ttt found no model to talk to (*{title}*). Any one of these fixes it:"
        elif self.model:
            situation = f"Prompts go to **{self.model}** now. To use another model:"
        else:
            situation = "Finding a model to talk to… These are the ways to connect one:"
        text = CONNECT.format(situation=situation, config_path=self.config_path, offline=self.offline)
        yield Markdown(text, classes="connect")
