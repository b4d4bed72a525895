"""Logging: --debug and TTT_LOG_LEVEL, the rotating log file, and no secret in any line of it."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from tests.cli.test_oneshot import ttt
from tests.conftest import KEY
from tests.extensions.conftest import write_config
from tests.providers import OllamaServer, OpenAIServer, Reply
from ttt.core import logs
from ttt.core.config import paths

OTHER_SECRET = "tok_9f8e7d6c5b4a3210"


pytestmark = pytest.mark.usefixtures("clean_logging")


def log_lines() -> list[str]:
    path = paths().log_dir / "ttt.log"
    assert path.is_file(), "no log file was written"
    return path.read_text(encoding="utf-8").splitlines()


def assert_clean(lines: list[str], *secrets: str) -> None:
    for number, line in enumerate(lines, 1):
        for secret in secrets:
            assert secret not in line, f"line {number} leaks a secret: {line}"


def test_every_record_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", OTHER_SECRET)
    path = logs.setup_logging("DEBUG")
    assert path == paths().log_dir / "ttt.log"
    log = logs.get_logger("test")
    log.debug("POST /v1/chat headers=%s", {"Authorization": f"Bearer {KEY}", "x-api-key": OTHER_SECRET})
    log.debug("body: %s", f'{{"api_key": "{KEY}", "note": "sk-other-1234567890abcdef"}}')
    logging.getLogger("httpx").debug("Authorization: Bearer %s", "some-opaque-credential")
    try:
        raise RuntimeError(f"provider said: invalid key {KEY}")
    except RuntimeError:
        log.exception("request failed")
    lines = log_lines()
    assert_clean(lines, KEY, OTHER_SECRET, "sk-other-1234567890abcdef", "some-opaque-credential")
    text = "\n".join(lines)
    assert "Bearer [REDACTED]" in text and "'x-api-key': '[REDACTED]'" in text
    assert "RuntimeError: provider said: invalid key [REDACTED]" in text


def test_a_host_programs_own_handler_gets_redacted_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("ttt").addHandler(handler)
    logging.getLogger("ttt").setLevel(logging.DEBUG)
    try:
        logs.get_logger("engine").debug("key is %s", KEY)
    finally:
        logging.getLogger("ttt").removeHandler(handler)
    assert seen == ["key is [REDACTED]"]


def test_debug_run_leaves_no_key_in_the_log_or_on_stderr(cloud: OpenAIServer) -> None:
    # a provider that echoes the key back in its error, as some do
    cloud.script.push(Reply(status=400, error_message=f"Invalid request; key used: {KEY}"))
    result = ttt("-p", "hi", "-m", "openai/gpt-4o-mini", "--debug")
    assert result.returncode == 2
    assert "ttt.engine: route: openai/gpt-4o-mini on cloud" in result.stderr
    assert "openai._base_client" in result.stderr  # the client's own debug records are collected
    assert KEY not in result.stderr
    lines = log_lines()
    assert any(" DEBUG " in line for line in lines)
    assert_clean(lines, KEY)


async def test_a_request_logged_at_debug_keeps_its_key_out_of_the_file(cloud: OpenAIServer) -> None:
    from ttt.core import api

    logs.setup_logging("DEBUG")
    await api.ask_async("hi", model="openai/gpt-4o-mini")  # with httpx and openai debug records
    request = cloud.chat_requests[-1]
    logs.get_logger("test").debug("sent %s with headers %s", request.body, request.headers)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    lines = log_lines()
    assert any("HTTP Request: POST" in line for line in lines)
    assert any("'authorization': 'Bearer [REDACTED]'" in line for line in lines)
    assert_clean(lines, KEY)


def test_debug_lines_cover_route_retries_and_timing(cloud: OpenAIServer) -> None:
    cloud.script.push(Reply(status=500, error_message="overloaded"), Reply(text="fine"))
    result = ttt("-p", "hi", "-m", "openai/gpt-4o-mini", "--debug")
    assert result.returncode == 0, result.stderr
    text = "\n".join(log_lines())
    assert "route: openai/gpt-4o-mini on cloud" in text
    assert "openai/gpt-4o-mini on cloud failed (attempt 1)" in text
    assert "retrying openai/gpt-4o-mini in" in text
    assert "turn done: openai/gpt-4o-mini in" in text and "tokens" in text


def test_ttt_log_level_sets_the_file_level_without_stderr_noise(
    local: OllamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTT_LOG_LEVEL", "DEBUG")
    result = ttt("-p", "hi", "-m", "ollama/llama3.2")
    assert result.returncode == 0 and result.stderr == ""
    assert any("DEBUG" in line and "route: ollama/llama3.2" in line for line in log_lines())


def test_the_default_level_keeps_debug_out_of_the_file(local: OllamaServer) -> None:
    write_config("retries = 1\n")
    local.script.push(Reply(status=500), Reply(status=500))
    result = ttt("-p", "hi", "-m", "ollama/llama3.2")
    assert result.returncode != 0
    lines = log_lines()
    assert lines and all(" DEBUG " not in line for line in lines)
    assert any("WARNING" in line and "failed (attempt 2)" in line for line in lines)


def test_the_log_file_rotates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    logs.setup_logging("INFO")
    for number in range(100):
        logs.get_logger("test").info("line %d %s", number, "x" * 50)
    folder = paths().log_dir
    assert (folder / "ttt.log.1").is_file() and not (folder / f"ttt.log.{logs.BACKUPS + 1}").exists()


def test_log_files_and_folder_are_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    old = os.umask(0o022)  # the usual umask, which alone would leave them readable by everyone
    try:
        logs.setup_logging("INFO")
        for number in range(100):
            logs.get_logger("test").info("line %d %s", number, "x" * 50)
    finally:
        os.umask(old)
    folder = paths().log_dir
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("ttt.log", "ttt.log.1"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_a_log_that_cannot_be_written_stays_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    logs.setup_logging("INFO")
    (paths().log_dir / "ttt.log").mkdir()  # opening the file fails, as on a full or broken disk
    logs.get_logger("test").warning("this record can't be written")
    logs.get_logger("test").error("nor this one")
    assert capfd.readouterr().err == ""
