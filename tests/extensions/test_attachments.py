"""Attachments: images by magic bytes, text files into the prompt, limits, and both wire formats."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.cli.test_oneshot import ttt
from tests.extensions.conftest import GIF, JPEG, PNG, WEBP, write_config
from tests.providers import OllamaServer, OpenAIServer
from ttt.core import api
from ttt.core.attachments import image_type, load
from ttt.core.config_sections import AttachmentsConfig
from ttt.core.errors import InvalidRequestError

LIMITS = AttachmentsConfig()


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"), (b"hello", None)],
)
def test_images_are_recognised_by_their_bytes(tmp_path: Path, data: bytes, media_type: str | None) -> None:
    assert image_type(data[:16]) == media_type
    misnamed = tmp_path / "picture.txt"  # the name does not matter
    misnamed.write_bytes(data)
    loaded = load([misnamed], LIMITS)
    if media_type:
        (image,) = loaded.images
        assert image.media_type == media_type
        assert base64.b64decode(image.data) == data
        assert image.sha256 == hashlib.sha256(data).hexdigest()
        assert image.path == str(misnamed.resolve())
    else:
        assert loaded.texts == [(str(misnamed), "hello")]


def test_text_files_join_the_prompt_with_their_names(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("- buy milk\n", encoding="utf-8")
    prompt = load([notes], LIMITS).prompt("Summarise")
    assert prompt == f"Summarise\n\n[file: {notes}]\n- buy milk\n[end of file: {notes}]"


def test_invalid_utf8_in_a_text_file_is_replaced_not_refused(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café au lait".encode("latin-1"))
    assert load([latin1], LIMITS).texts == [(str(latin1), "caf\ufffd au lait")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "Attachment missing.txt: no such file."),
        ("folder", "dir", "Attachment folder: is a folder, not a file."),
        ("blob.bin", b"\x00\x01\x02binary", "Attachment blob.bin is a binary file"),
        ("big.txt", b"x" * 2_000, "Attachment big.txt is 2 KB; the text file limit is 1 KB"),
        ("big.png", PNG + b"\0" * 3_000, "the image limit is 2 KB (attachments.max_image_bytes)"),
    ],
)
def test_unusable_files_are_clear_errors_naming_the_file(name: str, content: object, message: str) -> None:
    if content == "dir":
        Path(name).mkdir()
    elif isinstance(content, bytes):
        Path(name).write_bytes(content)
    limits = AttachmentsConfig(max_image_bytes=2_000, max_text_bytes=1_000)
    with pytest.raises(InvalidRequestError) as caught:
        load([name], limits)
    assert message in str(caught.value)


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("x")
    target.chmod(0)
    if _can_read(target):  # root reads anything; reading this one fails for everybody
        target = Path("/proc/self/mem")
        if not target.exists():
            pytest.skip("no file here that this user cannot read")
    with pytest.raises(InvalidRequestError, match=rf"Attachment {target} can't be read: \w"):
        load([target], LIMITS)


def _can_read(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True


async def test_ollama_gets_the_image_in_its_images_field(local: OllamaServer, png: Path) -> None:
    local.script.push("a red pixel")
    response = await api.ask_async("describe", attachments=[png], model="ollama/llava")
    assert response.text == "a red pixel"
    sent = local.chat_requests[-1].body["messages"][-1]
    assert sent["content"] == "describe"
    assert sent["images"] == [base64.b64encode(PNG).decode()]


async def test_openai_gets_a_data_url(cloud: OpenAIServer, png: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("taken at noon")
    await api.ask_async("describe", attachments=[png, notes], model="openai/gpt-4o-mini")
    content = cloud.chat_requests[-1].body["messages"][-1]["content"]
    assert content[0]["type"] == "text" and "describe" in content[0]["text"]
    assert "[file: " in content[0]["text"] and "taken at noon" in content[0]["text"]
    assert content[1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }


async def test_auto_sends_images_to_a_vision_model(
    local: OllamaServer, cloud: OpenAIServer, png: Path
) -> None:
    response = await api.ask_async("what is this?", attachments=[png], model="auto")
    assert response.model == "openai/gpt-4o-mini"
    assert cloud.chat_requests[-1].body["messages"][-1]["content"][1]["type"] == "image_url"


async def test_an_image_for_a_model_without_vision_is_refused(local: OllamaServer, png: Path) -> None:
    with pytest.raises(InvalidRequestError, match=r"'ollama/llama3.2' can't read images"):
        await api.ask_async("describe", attachments=[png], model="ollama/llama3.2")
    assert local.chat_requests == []


async def test_size_limits_come_from_the_config(local: OllamaServer, png: Path) -> None:
    write_config("[attachments]\nmax_image_bytes = 10\n")
    with pytest.raises(InvalidRequestError, match=r"photo\.png is 70 bytes; the image limit is 10 bytes"):
        await api.ask_async("describe", attachments=[png], model="ollama/llava")


def test_cli_attach_is_repeatable_and_stdin_still_works(cloud: OpenAIServer, png: Path) -> None:
    Path("todo.txt").write_text("water the plants\n")
    result = ttt("-p", "Read these", "-a", str(png), "-a", "todo.txt", "-m", "fast", stdin="from stdin")
    assert result.returncode == 0, result.stderr
    content = cloud.chat_requests[-1].body["messages"][-1]["content"]
    text = content[0]["text"]
    assert text.startswith("Read these\n\nfrom stdin") and "[file: todo.txt]\nwater the plants" in text
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_cli_attachment_errors_exit_2(local: OllamaServer, png: Path) -> None:
    result = ttt("-p", "describe", "-a", "nope.png", "-m", "ollama/llava")
    assert result.returncode == 2
    assert "Invalid request: Attachment nope.png: no such file." in result.stderr
    result = ttt("-p", "describe", "-a", str(png), "-m", "ollama/llama3.2")
    assert result.returncode == 2 and "can't read images" in result.stderr


async def test_a_stored_chat_sends_the_image_again_from_its_file(local: OllamaServer, png: Path) -> None:
    from ttt.core.session.persistent import PersistentChatSession

    local.script.push("a red pixel", "still red")
    async with api.achat(persist=True, model="ollama/llava") as session:
        await session.ask_async("describe", attachments=[png])
    resumed = PersistentChatSession.open(session.id)
    (image,) = resumed.messages[0].images
    assert (image.path, image.data) == (str(png.resolve()), ""), "a reference and a hash, not a copy"
    assert (await resumed.ask_async("and now?")).text == "still red"
    resumed.close()
    assert local.chat_requests[-1].body["messages"][0]["images"] == [base64.b64encode(PNG).decode()]
