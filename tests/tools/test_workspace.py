"""Safe defaults for file tools: secret-looking paths and home-folder workspaces need a yes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.providers import OllamaServer, Reply
from ttt.core.config import ToolsConfig
from ttt.core.tools.builtins import list_directory, read_file, write_file
from ttt.core.tools.executor import ToolExecutor
from ttt.core.types import ToolCall

SECRETS = [
    ".ssh/id_rsa",
    "id_ed25519",
    ".env",
    ".env.local",
    "deploy/server.pem",
    "tls/site.key",
    ".gnupg/private-keys-v1.d/key",
    ".aws/credentials",
    ".azure/accessTokens.json",
    ".kube/config",
    ".docker/config.json",
    ".netrc",
    ".pgpass",
    ".bash_history",
    ".local/share/keyrings/login.keyring",
    ".mozilla/firefox/abc.default/logins.json",
    ".config/google-chrome/Default/Cookies",
]


def executor(workspace: Path, approve: object = None) -> ToolExecutor:
    """The three file tools, all allowed, as a user might configure them."""
    permissions = {"read_file": "allow", "list_directory": "allow", "write_file": "allow"}
    config = ToolsConfig(workspace=str(workspace), permissions=permissions)  # type: ignore[arg-type]
    return ToolExecutor([read_file, list_directory, write_file], config, approve)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", SECRETS)
async def test_secret_looking_paths_ask_even_when_allowed(workspace: Path, path: str) -> None:
    secret = workspace / path
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("the-secret-value")
    result = await executor(workspace).run(ToolCall("c1", "read_file", {"path": path}))
    assert result.outcome == "denied" and "the-secret-value" not in result.content
    assert "needs approval" in result.content and "pass --yes" in result.content
    asked: list[str] = []

    def approve(call: ToolCall, tool: object) -> str:
        asked.append(call.arguments["path"])
        return "always"

    approving = executor(workspace, approve)
    for _ in range(2):  # "always" does not stop the next secret read from asking
        result = await approving.run(ToolCall("c2", "read_file", {"path": path}))
        assert result.content == "the-secret-value"
    assert asked == [path, path]


async def test_ordinary_files_do_not_ask(workspace: Path) -> None:
    for name in ("notes.txt", "id_utils.py", "id_rsa.pub", "environment.md", "src/keys.py"):
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("plain")
        result = await executor(workspace).run(ToolCall("c1", "read_file", {"path": name}))
        assert result.content == "plain", name


async def test_a_link_to_a_secret_asks_too(workspace: Path) -> None:
    (workspace / ".ssh").mkdir()
    (workspace / ".ssh" / "id_rsa").write_text("the-secret-value")
    (workspace / "harmless.txt").symlink_to(workspace / ".ssh" / "id_rsa")
    result = await executor(workspace).run(ToolCall("c1", "read_file", {"path": "harmless.txt"}))
    assert result.outcome == "denied" and "the-secret-value" not in result.content


async def test_listing_a_secret_folder_asks_and_listings_mark_secrets(workspace: Path) -> None:
    (workspace / ".ssh").mkdir()
    (workspace / ".ssh" / "id_rsa").write_text("x")
    (workspace / ".env").write_text("KEY=1")
    (workspace / "main.py").write_text("")
    denied = await executor(workspace).run(ToolCall("c1", "list_directory", {"path": ".ssh"}))
    assert denied.outcome == "denied" and "id_rsa" not in denied.content
    listing = (await executor(workspace).run(ToolCall("c2", "list_directory", {"path": "."}))).content
    assert ".ssh/  [looks secret: reading it asks first]" in listing
    assert ".env  (5 bytes)  [looks secret: reading it asks first]" in listing
    assert "main.py  (0 bytes)\n" in listing + "\n"


async def test_writes_to_secret_paths_ask_even_after_always(workspace: Path) -> None:
    answers = iter(["always", "no"])
    approving = executor(workspace, lambda call, tool: next(answers))
    approving.config.permissions.pop("write_file")
    ok = await approving.run(ToolCall("c1", "write_file", {"path": "a.txt", "content": "1"}))
    assert ok.ok
    refused = await approving.run(
        ToolCall("c2", "write_file", {"path": ".ssh/authorized_keys", "content": "ssh-rsa AAA attacker"})
    )
    assert refused.outcome == "denied" and not (workspace / ".ssh").exists()


async def test_ttt_own_folders_ask(workspace: Path, isolated: Path) -> None:
    config = isolated / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('api_key = "sk-own"')
    result = await executor(isolated.parent).run(
        ToolCall("c1", "read_file", {"path": "ttt-home/config/config.toml"})
    )
    assert result.outcome == "denied" and "ttt's own" in result.content and "sk-own" not in result.content


@pytest.mark.parametrize("where", ["home", "root"])
async def test_a_home_or_root_workspace_asks_for_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    (home / "project" / "notes.txt").write_text("plain")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home if where == "home" else "/")
    tools = ToolExecutor([read_file, list_directory], ToolsConfig())  # the default: the current directory
    path = "project/notes.txt" if where == "home" else str(home / "project" / "notes.txt")
    for name, arguments in (("read_file", {"path": path}), ("list_directory", {})):
        result = await tools.run(ToolCall("c1", name, arguments))
        assert result.outcome == "denied" and "set tools.workspace" in result.content
    monkeypatch.chdir(home / "project")  # a project folder is fine
    assert (await tools.run(ToolCall("c2", "read_file", {"path": "notes.txt"}))).content == "plain"


def test_the_cli_without_a_terminal_never_reads_a_secret(ollama: OllamaServer, tmp_path: Path) -> None:
    """``ttt -p`` in a folder holding ``.ssh/id_rsa``: the model asks for it and does not get it."""
    (Path.cwd() / ".ssh").mkdir()
    (Path.cwd() / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY----- the-secret-value")
    for extra, leaked in (((), False), (("--yes",), True)):
        ollama.script.push(Reply(tool_calls=[("read_file", {"path": ".ssh/id_rsa"})]), Reply(text="done"))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ttt",
                "-p",
                "read it",
                "-m",
                "ollama/llama3.2",
                "--tools",
                "read_file",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert result.returncode == 0, result.stderr
        sent = str(ollama.chat_requests[-1].body)
        assert ("the-secret-value" in sent) is leaked, sent
        if not leaked:
            assert "needs approval" in sent
