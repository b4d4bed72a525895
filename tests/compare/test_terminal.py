"""``ttt -p --compare`` on a real pty: a labelled section per model, each answer (or error) under
its own label, the exit status, and model text that cannot move the terminal."""

from __future__ import annotations

import pyte

from tests.escapes import HOSTILE, forbidden_in, raw_controls, ttt_on_pty
from tests.providers import OllamaServer, OpenAIServer, Reply

OLLAMA, OPENAI = "ollama/llama3.2", "openai/gpt-4o-mini"


def compare_on_pty(models: str, *args: str) -> tuple[int, bytes, dict[str, list[str]]]:
    """Exit code, raw bytes, and the screen's lines grouped under each ``── model ──`` label."""
    terminal = ttt_on_pty("-p", "hi", "--compare", models, "--no-save", *args)
    try:
        terminal.read(timeout=60)
    finally:
        code = terminal.close()
    screen = pyte.Screen(120, 40)
    pyte.ByteStream(screen).feed(terminal.output)
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (row.rstrip() for row in screen.display):
        if line.startswith("── ") and line.endswith(" ──"):
            current = sections.setdefault(line[3:-3], [])
        elif current is not None and line:
            current.append(line)
    return code, terminal.output, sections


def test_each_answer_is_under_its_own_label(ollama: OllamaServer, openai: OpenAIServer) -> None:
    ollama.script.push(Reply(chunks=["from ", "ollama"], token_delay=0.05))
    openai.script.push(Reply(text="from openai"))
    code, _, sections = compare_on_pty(f"{OLLAMA},{OPENAI}", "--raw")
    assert code == 0
    assert sorted(sections) == sorted([OLLAMA, OPENAI])
    assert sections[OLLAMA][0] == "from ollama" and sections[OPENAI][0] == "from openai"
    assert all(not any("from" in line for line in lines[1:]) for lines in sections.values())


def test_markdown_answers_are_rendered_in_their_sections(ollama: OllamaServer, openai: OpenAIServer) -> None:
    ollama.script.push(Reply(text="**bold** ollama"))
    openai.script.push(Reply(text="- item openai"))
    code, _, sections = compare_on_pty(f"{OLLAMA},{OPENAI}")
    assert code == 0
    assert sections[OLLAMA][0].strip() == "bold ollama"
    assert sections[OPENAI][0].strip() == "• item openai"


def test_a_failing_model_shows_its_error_without_hiding_the_other(
    ollama: OllamaServer, openai: OpenAIServer
) -> None:
    openai.script.push(Reply(text="still here"))
    code, _, sections = compare_on_pty(f"ollama/missing,{OPENAI}")
    assert code == 0
    assert sections["ollama/missing"][0].startswith("error: Model not found")
    assert sections[OPENAI][0].strip() == "still here"


def test_all_failing_exits_1_with_each_error_in_its_section(ollama: OllamaServer) -> None:
    code, _, sections = compare_on_pty("ollama/missing,ollama/gone")
    assert code == 1
    assert sorted(sections) == ["ollama/gone", "ollama/missing"]
    assert all(lines[0].startswith("error: Model not found") for lines in sections.values())


def test_escapes_in_model_text_are_neutralised(ollama: OllamaServer, openai: OpenAIServer) -> None:
    ollama.script.push(Reply(text=HOSTILE))
    openai.script.push(Reply(status=400, error_message=HOSTILE))
    for mode in ((), ("--raw",)):
        code, output, sections = compare_on_pty(f"{OLLAMA},{OPENAI}", *mode)
        assert code == 0
        assert forbidden_in(output) == [], mode
        shown = "\n".join(sections[OLLAMA])
        assert shown.startswith("before") and "after" in shown.replace("\n", "") and raw_controls(shown) == []
        assert sections[OPENAI][0].startswith("error:")
        ollama.script.push(Reply(text=HOSTILE))
        openai.script.push(Reply(status=400, error_message=HOSTILE))
