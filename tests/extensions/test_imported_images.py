"""An imported session is untrusted: its image parts never make ttt read (or hang on) a local file."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from tests.conftest import KEY
from tests.providers import OllamaServer, OpenAIServer
from ttt.core.attachments import image_base64
from ttt.core.errors import InvalidRequestError
from ttt.core.types import ImagePart

from .conftest import PNG

SECRET = b"-----BEGIN PRIVATE KEY----- the-secret-value"


def crafted_session(tmp_path: Path) -> Path:
    """A session file whose image parts point at a secret, at ttt's environment and at a FIFO,
    next to one honest inline image."""
    secret = tmp_path / "secret.pem"
    secret.write_bytes(SECRET)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    images = [
        {"type": "image", "media_type": "image/png", "path": str(secret), "sha256": ""},
        {
            "type": "image",
            "media_type": "image/png",
            "path": str(secret),
            "sha256": hashlib.sha256(SECRET).hexdigest(),
        },
        {"type": "image", "media_type": "image/png", "path": "/proc/self/environ", "sha256": ""},
        {"type": "image", "media_type": "image/png", "path": str(fifo), "sha256": ""},
        {"type": "image", "media_type": "image/png", "data": base64.b64encode(PNG).decode(), "sha256": ""},
    ]
    session = {
        "format": "ttt-session",
        "version": 1,
        "session": {"id": "crafted", "title": "Crafted"},
        "messages": [
            {"id": 1, "role": "user", "parts": [{"type": "text", "text": "look"}, *images]},
            {"id": 2, "parent_id": 1, "role": "assistant", "parts": [{"type": "text", "text": "I see."}]},
        ],
    }
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(session))
    return path


@pytest.mark.parametrize("backend", ["local", "cloud"])
def test_an_imported_session_never_sends_a_local_file(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    server: OllamaServer | OpenAIServer = request.getfixturevalue(backend)
    imported = ttt("sessions", "import", str(crafted_session(tmp_path)))
    assert imported.returncode == 0, imported.stderr
    model = "ollama/llava" if backend == "local" else "openai/gpt-4o-mini"
    server.script.push("fine")
    result = ttt("-p", "and now?", "--session", imported.stdout.strip(), "-m", model, timeout=30)
    assert result.returncode == 0, result.stderr
    body = json.dumps(server.chat_requests[-1].body)
    sent_images = re.findall(r"[A-Za-z0-9+/=]{40,}", body)
    assert sent_images == [base64.b64encode(PNG).decode()], "only the honest inline image is sent"
    for leak in (SECRET, KEY.encode()):
        assert leak.decode() not in body and base64.b64encode(leak).decode()[:24] not in body
    assert body.count("left out on import") == 4
    shown = ttt("sessions", "export", imported.stdout.strip(), "--format", "json").stdout
    assert str(tmp_path / "secret.pem") not in json.dumps(
        [p for m in json.loads(shown)["messages"] for p in m["parts"] if p["type"] == "image"]
    )


def test_a_stored_image_is_read_only_against_its_hash_and_only_if_regular(tmp_path: Path) -> None:
    secret = tmp_path / "secret.pem"
    secret.write_bytes(SECRET)
    with pytest.raises(InvalidRequestError, match="no hash to check"):
        image_base64(ImagePart("image/png", path=str(secret)))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InvalidRequestError, match="not a regular file"):
        image_base64(ImagePart("image/png", path=str(fifo), sha256="00" * 32))
