"""The whole product against a real inference server: engine, `ttt -p`, sessions and the TUI.

Small models word things their own way, so these tests assert shape, streaming, usage and
determinism at temperature 0, never exact wording.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ttt
from tests.conftest import REPO
from tests.real_llm.conftest import RealLlama
from ttt.core import api
from ttt.core.session.store import Store

PROMPT = "Name three colours."


def use(real_llama: RealLlama) -> None:
    api.configure(
        model=real_llama.model,
        temperature=0.0,
        llamacpp={"base_url": real_llama.base_url, "api_key": real_llama.server.api_key},
        max_tokens=40,
    )


def test_engine_streams_with_usage_and_is_deterministic(real_llama: RealLlama) -> None:
    use(real_llama)
    result = ttt.stream(PROMPT)
    chunks = list(result)
    response = result.response
    assert len(chunks) > 3 and "".join(chunks).strip()
    assert response is not None and (response.model, response.backend) == ("llamacpp/smollm2", "llamacpp")
    assert response.input_tokens > 0 and 0 < response.output_tokens <= 40
    assert str(ttt.ask(PROMPT)) == "".join(chunks), "temperature 0 gives the same reply"


def test_one_shot_cli_through_the_real_server(real_llama: RealLlama, isolated: Path) -> None:
    config = isolated / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(real_llama.toml())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = [sys.executable, "-m", "ttt", "-p", PROMPT, "--max-tokens", "40"]
    first = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["backend"] == "llamacpp" and data["text"].strip() and data["output_tokens"] > 0
    plain = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert plain.stdout.strip() == data["text"].strip()


def test_a_session_round_trip(real_llama: RealLlama) -> None:
    use(real_llama)
    with ttt.chat(persist=True) as session:
        first = session.ask("My name is Ada. Say hello.")
        second = session.ask("What is my name?")
    stored = Store.default().history(session.id)
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert [m.text for m in stored[1::2]] == [str(first), str(second)]
    assert all(m.status == "complete" and m.output_tokens > 0 for m in stored[1::2])
    with ttt.chat(session_id=session.id) as resumed:
        assert [m.text for m in resumed.messages] == [m.text for m in stored]


async def test_a_tui_conversation(real_llama: RealLlama) -> None:
    from tests.tui.conftest import settle
    from ttt_tui.app import create_app
    from ttt_tui.widgets.message import AssistantMessage

    use(real_llama)
    app = create_app(model=real_llama.model)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*"Name three colours.", "enter")
        await settle(app)
        reply = app.transcript.latest(AssistantMessage)
        assert isinstance(reply, AssistantMessage) and reply.text.strip()
        assert app.stats[app.controller.current.id].output_tokens > 0


def test_first_run_answers_offline_with_no_key_and_no_ollama(isolated: Path) -> None:
    """A fresh install, no config, no key, no Ollama: `ttt -p` starts the embedded runtime itself
    and answers; `ttt status` then says the offline model answered here."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert not any(name.endswith("_API_KEY") for name in env)
    run = [sys.executable, "-m", "ttt", "-p", PROMPT, "--max-tokens", "20", "--json"]
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["model"], data["backend"]) == ("llamacpp/smollm2", "llamacpp")
    assert data["text"].strip() and data["output_tokens"] > 0
    status = subprocess.run(
        [sys.executable, "-m", "ttt", "status"], capture_output=True, text=True, env=env, timeout=60
    )
    line = next(line for line in status.stdout.splitlines() if "llamacpp" in line)
    assert line.startswith("✓") and "smollm2 answered" in line


def test_our_server_refuses_requests_without_its_key(real_llama: RealLlama) -> None:
    """The server ttt starts is not an open model for anything else on this machine."""
    import httpx

    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    url = f"{real_llama.base_url}/v1/chat/completions"
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    headers = {"Authorization": f"Bearer {real_llama.server.api_key}"}
    assert httpx.post(url, json=body, headers=headers, timeout=60).status_code == 200
