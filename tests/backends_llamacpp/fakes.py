"""Stand-in llama-server executables, written into a test's tmp_path.

They exercise the supervisor's real process handling (spawn, health polling, exit codes,
signals, process groups) without the real binary; the real one is the ``real_llm`` tier's job.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ttt.core.config import Config, LlamaCppConfig

# A llama-server look-alike: records its argv, answers /health with 503 for a moment
# ("loading model"), then 200; streams /v1/chat/completions as chunked SSE with usage. A user
# message containing "crash" makes it exit mid-reply, as a crashing server would.
FAKE_SERVER = r"""#!{python}
import json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

args = sys.argv[1:]
here = Path(__file__)
here.with_suffix(".argv").write_text(json.dumps(args))
here.with_suffix(".env").write_text(json.dumps(dict(os.environ)))
child = subprocess.Popen(["sleep", "300"])  # a grandchild, to check the group is stopped
here.with_suffix(".child").write_text(str(child.pid))
ready_at = time.monotonic() + 0.3
WORDS = ["Hello", " from", " fake", " llama"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        ok = time.monotonic() >= ready_at
        body = json.dumps({{"status": "ok"}} if ok else {{"error": {{"message": "Loading model"}}}}).encode()
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, obj):
        data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        crash = "crash" in request["messages"][-1]["content"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": request["model"]}}
        for i, word in enumerate(WORDS):
            if crash and i == 2:
                os._exit(3)
            self.chunk({{**base, "choices": [{{"index": 0, "delta": {{"content": word}}, "finish_reason": None}}]}})
        self.chunk({{**base, "choices": [{{"index": 0, "delta": {{}}, "finish_reason": "stop"}}]}})
        usage = {{"prompt_tokens": 7, "completion_tokens": len(WORDS), "total_tokens": 7 + len(WORDS)}}
        self.chunk({{**base, "choices": [], "usage": usage}})
        self.chunk(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


print("main: server is listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", int(args[args.index("--port") + 1])), Handler).serve_forever()
"""


def write_script(path: Path, text: str) -> Path:
    """An executable script at ``path``."""
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_server(folder: Path) -> Path:
    """The working llama-server look-alike."""
    return write_script(folder / "fake-llama-server", FAKE_SERVER.format(python=sys.executable))


def fake_model(folder: Path, name: str = "tiny-model.gguf") -> Path:
    """A file that stands in for a GGUF (the fake servers never read it)."""
    path = folder / name
    path.write_bytes(b"GGUF")
    return path


def config_for(binary: Path | str, model: Path | str, **settings: object) -> Config:
    """A Config whose llamacpp section runs ``binary`` with ``model``."""
    return Config(llamacpp=LlamaCppConfig(model_path=str(model), binary=str(binary), **settings))  # type: ignore[arg-type]
