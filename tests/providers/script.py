"""Shared scripting model and HTTP plumbing for the local provider servers.

A test queues `Reply` objects on `server.script`; each chat request consumes one.
With an empty queue the server echoes ``"You said: " + <last user message>``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

_TOKEN = re.compile(r"\S+\s*|\s+")


def split_tokens(text: str) -> list[str]:
    """Split text into word-ish tokens, each keeping its trailing whitespace."""
    return _TOKEN.findall(text)


def message_text(content: Any) -> str:
    """Plain text of a message's content (a string or a list of OpenAI content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


@dataclass
class Reply:
    """One scripted response to a chat request."""

    text: str = ""
    chunks: list[str] | None = None
    thinking: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    finish_reason: str | None = None
    status: int = 200
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    disconnect_after: int | None = None
    malformed_after: int | None = None
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    tokens_per_second: float | None = None
    usage: tuple[int, int] | None = None

    def pieces(self) -> list[str]:
        """Content chunks in streaming order."""
        return list(self.chunks) if self.chunks is not None else split_tokens(self.text)

    @property
    def content(self) -> str:
        """The whole content text."""
        return "".join(self.pieces())

    @property
    def interval(self) -> float:
        """Seconds between streamed chunks."""
        return 1.0 / self.tokens_per_second if self.tokens_per_second else self.token_delay

    def token_counts(self, messages: list[Any]) -> tuple[int, int]:
        """(prompt, completion) tokens: the scripted usage or a rough estimate."""
        if self.usage is not None:
            return self.usage
        chars = sum(len(message_text(m.get("content"))) for m in messages if isinstance(m, dict))
        completion = len(self.pieces()) + len(split_tokens(self.thinking))
        completion += sum(max(1, len(json.dumps(args)) // 4) for _, args in self.tool_calls)
        return chars // 4 + 1, completion

    def default_finish(self) -> str:
        """The finish reason to report when none was scripted."""
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


class Script:
    """Queue of replies consumed one per chat request, falling back to an echo."""

    def __init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()

    def push(self, *replies: Reply | str) -> None:
        """Queue replies in order; a plain string means `Reply(text=...)`."""
        with self._lock:
            self._queue.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def clear(self) -> None:
        """Drop all queued replies."""
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def next_reply(self, messages: list[Any]) -> Reply:
        """Pop the next queued reply, or echo the last user message."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last = message_text(users[-1].get("content")) if users else ""
        return Reply(text="You said: " + last)


@dataclass(frozen=True)
class Request:
    """One request as received: header names are lower-cased; body is parsed JSON
    (a dict/list), the raw text if it was not JSON, or None if empty."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Exchange(BaseHTTPRequestHandler):
    """One HTTP request/response, routed to the owning provider server."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        """Read the request, record it and let the provider answer."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, self.path, headers, body)
        provider = self.server.provider
        provider.record(request)
        try:
            provider.route(self, request)
        except OSError:  # the client went away (or `stop()` dropped it) mid-response
            self.close_connection = True

    do_POST = do_HEAD = do_DELETE = do_GET

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; tests assert on `server.requests` instead."""

    def _head(self, status: int, content_type: str, headers: dict[str, str] | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send a complete response with Content-Length (no body for HEAD)."""
        self._head(status, content_type, headers)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        """Send a JSON response."""
        self.send_body(status, json.dumps(obj).encode(), "application/json; charset=utf-8", headers)

    def start_stream(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Send 200 headers for a chunked streaming body."""
        self._head(200, content_type, headers)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        """Write one chunk of a chunked body and flush it to the socket."""
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        """Terminate a chunked body properly."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self) -> None:
        """Close the socket at once, leaving the response unfinished."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def play(
    ex: Exchange,
    reply: Reply,
    events: list[bytes],
    malformed: bytes,
    tail: Callable[[], list[bytes]],
) -> None:
    """Stream `events` paced by `reply`, then `tail()`; honour disconnect/malformed.

    `events` are the reply's own chunks (those count for `disconnect_after` and
    `malformed_after`); `tail` builds the closing chunks once streaming is done.
    """
    start = time.monotonic() + reply.first_token_delay
    for i, event in enumerate([*events, None]):
        if reply.disconnect_after is not None and i >= reply.disconnect_after:
            ex.abort()
            return
        if reply.malformed_after is not None and i >= reply.malformed_after:
            ex.write_chunk(malformed)
            ex.end_stream()
            return
        if event is None:
            break
        time.sleep(max(0.0, start + i * reply.interval - time.monotonic()))
        ex.write_chunk(event)
    for chunk in tail():
        ex.write_chunk(chunk)
    ex.end_stream()


def wait_whole(reply: Reply, n_events: int) -> None:
    """For a non-streamed reply, take as long as streaming it would have."""
    time.sleep(reply.first_token_delay + reply.interval * max(0, n_events - 1))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: ProviderServer) -> None:
        self.provider = provider
        self.open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Exchange)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-stream is a scenario tests create on purpose, not a server fault."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def track(self, sock: socket.socket, is_open: bool) -> None:
        with self._sockets_lock:
            (self.open_sockets.add if is_open else self.open_sockets.discard)(sock)

    def close_all(self) -> None:
        with self._sockets_lock:
            for sock in self.open_sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class ProviderServer:
    """Base of the local provider servers: lifecycle, script and request log."""

    chat_path = ""

    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def chat_requests(self) -> list[Request]:
        """Recorded requests to the chat endpoint, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path.split("?")[0] == self.chat_path]

    def start(self) -> Self:
        """Bind to 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._httpd is None:
            self._httpd = _HTTPServer(self)
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_all()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        self.script.clear()
        with self._lock:
            self.requests.clear()

    def record(self, request: Request) -> None:
        """Append a received request to `requests`."""
        with self._lock:
            self.requests.append(request)

    def route(self, ex: Exchange, request: Request) -> None:
        """Answer one request; implemented by each provider."""
        raise NotImplementedError
