"""A local server speaking Ollama's native ``/api/*`` protocol, driven by a `Script`."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .script import Exchange, ProviderServer, Reply, Request, play, split_tokens, wait_whole

VERSION = "0.12.6"
MODIFIED_AT = "2025-06-01T12:00:00.000000+00:00"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class OllamaModel:
    """A model the server pretends to have pulled."""

    name: str
    family: str = ""
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    context_length: int = 8192
    capabilities: tuple[str, ...] = ("completion", "tools")

    @property
    def tag(self) -> str:
        """Full name with a tag, e.g. ``llama3.2:latest``."""
        return full_name(self.name)

    @property
    def arch(self) -> str:
        """Model family, guessed from the name when not given."""
        return self.family or re.sub(r"[\d.]+$", "", self.name.split(":")[0].split("/")[-1]) or "llama"

    @property
    def digest(self) -> str:
        """A stable fake sha256 digest."""
        return hashlib.sha256(self.tag.encode()).hexdigest()

    @property
    def parameter_count(self) -> int:
        """Parameter count implied by `parameter_size`."""
        match = re.match(r"([\d.]+)\s*([KMB]?)", self.parameter_size.upper())
        scale = {"K": 1e3, "M": 1e6, "B": 1e9, "": 1}
        return round(float(match[1]) * scale[match[2]]) if match else 8_000_000_000

    def details(self) -> dict[str, Any]:
        """The ``details`` object of /api/tags and /api/show."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.arch,
            "families": [self.arch],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


DEFAULT_MODELS = (
    OllamaModel("llama3.2:latest", family="llama", parameter_size="3.2B", context_length=131072),
    OllamaModel(
        "qwen3:8b",
        family="qwen3",
        parameter_size="8.2B",
        context_length=40960,
        capabilities=("completion", "tools", "thinking"),
    ),
)


def full_name(name: str) -> str:
    """Add ``:latest`` when the name has no tag, as Ollama does."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def now() -> str:
    """Current UTC time in Ollama's ``created_at`` format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OllamaServer(ProviderServer):
    """Ollama API on 127.0.0.1: version, tags, show, chat (NDJSON streaming)."""

    chat_path = "/api/chat"

    def __init__(self, models: Sequence[str | OllamaModel] | None = None) -> None:
        super().__init__()
        given = DEFAULT_MODELS if models is None else models
        self.models = [m if isinstance(m, OllamaModel) else OllamaModel(m) for m in given]
        self.version = VERSION  # what /api/version says

    def find(self, name: Any) -> OllamaModel | None:
        """The model matching a requested name (tag optional), if any."""
        if not isinstance(name, str) or not name:
            return None
        return next((m for m in self.models if m.tag == full_name(name)), None)

    def route(self, ex: Exchange, request: Request) -> None:
        """Dispatch by method and path."""
        path = request.path.split("?")[0]
        body = request.body if isinstance(request.body, dict) else {}
        match request.method, path:
            case (("GET" | "HEAD"), "/"):
                ex.send_body(200, b"Ollama is running", "text/plain; charset=utf-8")
            case "GET", "/api/version":
                ex.send_json(200, {"version": self.version})
            case "GET", "/api/tags":
                ex.send_json(200, {"models": [self._tag_entry(m) for m in self.models]})
            case "POST", "/api/show":
                self._show(ex, body)
            case "POST", "/api/chat":
                self._chat(ex, body)
            case _:
                ex.send_body(404, b"404 page not found", "text/plain")

    def _tag_entry(self, model: OllamaModel) -> dict[str, Any]:
        return {
            "name": model.tag,
            "model": model.tag,
            "modified_at": MODIFIED_AT,
            "size": model.parameter_count * 6 // 10,
            "digest": model.digest,
            "details": model.details(),
        }

    def _show(self, ex: Exchange, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name")
        model = self.find(name)
        if model is None:
            ex.send_json(404, {"error": f"model '{name}' not found"})
            return
        tools = "{{- if .Tools }}Tools: {{ .Tools }}{{ end }}" if "tools" in model.capabilities else ""
        template = tools + "{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant: "
        ex.send_json(
            200,
            {
                "license": "MIT",
                "modelfile": f'FROM {model.tag}\nTEMPLATE """{template}"""\n',
                "parameters": 'stop "<|end|>"',
                "template": template,
                "details": model.details(),
                "model_info": {
                    "general.architecture": model.arch,
                    "general.parameter_count": model.parameter_count,
                    f"{model.arch}.context_length": model.context_length,
                    f"{model.arch}.embedding_length": 4096,
                },
                "capabilities": list(model.capabilities),
                "modified_at": MODIFIED_AT,
            },
        )

    def _chat(self, ex: Exchange, body: dict[str, Any]) -> None:
        name = body.get("model")
        if not name:
            ex.send_json(400, {"error": "model is required"})
            return
        if self.find(name) is None:
            ex.send_json(404, {"error": f'model "{name}" not found, try pulling it first'})
            return
        messages = body.get("messages") or []
        if not messages:
            ex.send_json(
                200,
                {
                    "model": name,
                    "created_at": now(),
                    "message": _msg(""),
                    "done_reason": "load",
                    "done": True,
                },
            )
            return
        reply = self.script.next_reply(messages)
        if reply.status >= 400:
            ex.send_json(reply.status, {"error": reply.error_message or "error"}, reply.headers)
            return
        started = time.monotonic_ns()
        events = _events(reply)
        if body.get("stream", True):
            lines = [
                json.dumps({"model": name, "created_at": now(), "message": m, "done": False}).encode() + b"\n"
                for m in events
            ]
            ex.start_stream(NDJSON, reply.headers)
            play(
                ex,
                reply,
                lines,
                b'{"model": "' + name.encode() + b'", "message": {\n',
                lambda: [json.dumps(_final(name, reply, messages, _msg(""), started)).encode() + b"\n"],
            )
            return
        if reply.disconnect_after is not None:
            ex.abort()
            return
        wait_whole(reply, len(events))
        if reply.malformed_after is not None:
            ex.send_body(200, b'{"model": "' + name.encode() + b'", "message": {', "application/json")
            return
        whole = _msg(reply.content)
        if reply.thinking:
            whole["thinking"] = reply.thinking
        if reply.tool_calls:
            whole["tool_calls"] = _tool_calls(reply)
        ex.send_json(200, _final(name, reply, messages, whole, started), reply.headers)


def _msg(content: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{uuid.uuid4().hex[:8]}", "function": {"index": i, "name": n, "arguments": args}}
        for i, (n, args) in enumerate(reply.tool_calls)
    ]


def _events(reply: Reply) -> list[dict[str, Any]]:
    """Streamed messages: thinking chunks, content chunks, then all tool calls at once."""
    events = [_msg("", thinking=t) for t in split_tokens(reply.thinking)]
    events += [_msg(piece) for piece in reply.pieces()]
    if reply.tool_calls:
        events.append(_msg("", tool_calls=_tool_calls(reply)))
    return events


def _final(
    name: str, reply: Reply, messages: list[Any], message: dict[str, Any], started: int
) -> dict[str, Any]:
    """The ``done: true`` object with timings (ns) and token counts."""
    prompt, completion = reply.token_counts(messages)
    total = max(1, time.monotonic_ns() - started)
    load, prompt_eval = min(1_000_000, total // 10), min(5_000_000, total // 10)
    finish = reply.finish_reason or "stop"
    return {
        "model": name,
        "created_at": now(),
        "message": message,
        "done_reason": finish,
        "done": True,
        "total_duration": total + load + prompt_eval,
        "load_duration": load,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": prompt_eval,
        "eval_count": completion,
        "eval_duration": total,
    }
