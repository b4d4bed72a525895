"""A local server speaking OpenAI's ``/v1`` chat completions protocol, driven by a `Script`."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from .script import Exchange, ProviderServer, Reply, Request, play, split_tokens, wait_whole

CREATED = 1_700_000_000
SSE = "text/event-stream; charset=utf-8"
# status -> (error type, error code) as OpenAI reports them
ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(status: int, message: str = "", code: str | None = None) -> dict[str, Any]:
    """OpenAI's error JSON for an HTTP status."""
    kind, default_code = ERROR_KINDS.get(status, ("server_error", None))
    text = message or HTTPStatus(status).phrase
    return {"error": {"message": text, "type": kind, "param": None, "code": code or default_code}}


def split_arguments(arguments: str) -> list[str]:
    """Split a JSON arguments string into token-like pieces, as OpenAI streams them."""
    return re.findall(r"\w+|[^\w]+", arguments) or [arguments]


class OpenAIServer(ProviderServer):
    """OpenAI API on 127.0.0.1: ``/v1/models`` and ``/v1/chat/completions`` (SSE streaming)."""

    chat_path = "/v1/chat/completions"

    def __init__(self, models: Sequence[str] | None = None, api_key: str | None = None) -> None:
        super().__init__()
        self.models = list(models) if models is not None else ["gpt-4o-mini", "gpt-4o"]
        self.api_key = api_key

    def route(self, ex: Exchange, request: Request) -> None:
        """Check the key, then dispatch by method and path."""
        path = request.path.split("?")[0]
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            ex.send_json(401, error_body(401, f"Incorrect API key provided: {given[:3]}***."))
            return
        if request.method == "GET" and path == "/v1/models":
            ex.send_json(200, {"object": "list", "data": [_model(m) for m in self.models]})
        elif request.method == "GET" and path.startswith("/v1/models/"):
            model_id = unquote(path.removeprefix("/v1/models/"))
            if model_id in self.models:
                ex.send_json(200, _model(model_id))
            else:
                ex.send_json(404, error_body(404, f"The model '{model_id}' does not exist"))
        elif request.method == "POST" and path == self.chat_path:
            self._chat(ex, request.body)
        else:
            ex.send_json(404, error_body(404, f"Invalid URL ({request.method} {path})", "unknown_url"))

    def _chat(self, ex: Exchange, body: Any) -> None:
        if not isinstance(body, dict):
            ex.send_json(400, error_body(400, "We could not parse the JSON body of your request."))
            return
        model = body.get("model")
        if model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            ex.send_json(404, error_body(404, message, "model_not_found"))
            return
        messages = body.get("messages") or []
        reply = self.script.next_reply(messages)
        if reply.status >= 400:
            ex.send_json(reply.status, error_body(reply.status, reply.error_message), reply.headers)
            return
        completion = _Completion(model, reply, messages)
        headers = {"x-request-id": completion.id[9:], **reply.headers}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            completion.stream(ex, headers, include_usage)
            return
        if reply.disconnect_after is not None:
            ex.abort()
            return
        wait_whole(reply, len(completion.deltas()))
        if reply.malformed_after is not None:
            ex.send_body(200, b'{"id": "chatcmpl-', "application/json")
            return
        ex.send_json(200, completion.whole(), headers)


def _model(model_id: str) -> dict[str, Any]:
    owner = model_id.split("/")[0] if "/" in model_id else "system"
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}


class _Completion:
    """Builds one chat completion (streamed chunks or the whole object) from a reply."""

    def __init__(self, model: str, reply: Reply, messages: list[Any]) -> None:
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.model = model
        self.reply = reply
        self.call_ids = [f"call_{uuid.uuid4().hex[:24]}" for _ in reply.tool_calls]
        self.prompt_tokens, self.completion_tokens = reply.token_counts(messages)

    def usage(self) -> dict[str, Any]:
        """The usage object, with OpenAI's detail breakdowns."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": len(split_tokens(self.reply.thinking)),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def deltas(self) -> list[dict[str, Any]]:
        """Deltas after the role chunk: reasoning, content, then each tool call
        as a header (index, id, name) followed by its arguments in pieces."""
        out: list[dict[str, Any]] = [{"reasoning_content": t} for t in split_tokens(self.reply.thinking)]
        out += [{"content": piece} for piece in self.reply.pieces()]
        for index, ((name, args), call_id) in enumerate(
            zip(self.reply.tool_calls, self.call_ids, strict=True)
        ):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            out.append({"tool_calls": [head]})
            out += [
                {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                for piece in split_arguments(json.dumps(args))
            ]
        return out

    def chunk(self, choices: list[dict[str, Any]], include_usage: bool, usage: Any = None) -> bytes:
        """One SSE ``data:`` event carrying a chat.completion.chunk."""
        obj: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_local",
            "choices": choices,
        }
        if include_usage:
            obj["usage"] = usage
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def stream(self, ex: Exchange, headers: dict[str, str], include_usage: bool) -> None:
        """Stream SSE: role chunk, deltas, finish chunk, optional usage chunk, ``[DONE]``."""

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        def tail() -> list[bytes]:
            out = [self.chunk(choice({}, self.reply.default_finish()), include_usage)]
            if include_usage:
                out.append(self.chunk([], True, self.usage()))
            return [*out, b"data: [DONE]\n\n"]

        ex.start_stream(SSE, headers)
        events = [self.chunk(choice(d), include_usage) for d in self.deltas()]
        role = self.chunk(choice({"role": "assistant", "content": "", "refusal": None}), include_usage)
        ex.write_chunk(role)
        play(ex, self.reply, events, b'data: {"id": "chatcmpl-broken", "choices": [\n\n', tail)

    def whole(self) -> dict[str, Any]:
        """The non-streamed chat.completion object."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.reply.content or None,
            "refusal": None,
        }
        if self.reply.thinking:
            message["reasoning_content"] = self.reply.thinking
        if self.reply.tool_calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for (name, args), call_id in zip(self.reply.tool_calls, self.call_ids, strict=True)
            ]
        elif message["content"] is None:
            message["content"] = ""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.reply.default_finish(),
                }
            ],
            "usage": self.usage(),
            "system_fingerprint": "fp_local",
        }
