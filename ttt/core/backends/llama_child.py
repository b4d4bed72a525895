"""The offline runtime's process: llama.cpp's own HTTP server, embedded by ``xllamacpp``.

Run as ``python -m ttt.core.backends.llama_child`` with the subset of ``llama-server``'s flags that
ttt passes, so the supervisor in ``llama_server`` starts, health-checks and stops it exactly as it
would a ``llama-server`` binary. It imports nothing of ttt's: it must start fast and stand alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

NO_LIBGOMP = 3  # exit code: the system OpenMP library is missing
LIBGOMP_HINT = (
    "the offline runtime needs the system library libgomp.so.1 "
    "(Debian/Ubuntu: apt install libgomp1; Fedora: dnf install libgomp)"
)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="llama_child")
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("-c", "--ctx-size", type=int, default=4096)
    parser.add_argument("-t", "--threads", type=int, default=0)
    parser.add_argument("-a", "--alias", default="")
    parser.add_argument("--no-webui", action="store_true")
    parser.add_argument("--log-verbosity", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    # Block the stop signals before the server starts its threads, so they inherit the mask and
    # the signal is taken here, by sigwait, for an orderly exit.
    stop = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        import xllamacpp
    except ImportError as exc:
        if "libgomp" in str(exc):
            print(f"ttt: {LIBGOMP_HINT}.", file=sys.stderr)
            return NO_LIBGOMP
        raise
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.n_parallel = 1
    params.ui = False
    params.verbosity = args.log_verbosity
    key = os.environ.pop("TTT_LLAMA_API_KEY", "")
    if key:
        params.api_keys = [key]
    if args.alias:
        params.model_alias = {args.alias}
    if args.threads > 0:
        params.cpuparams.n_threads = args.threads
        params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)  # returns once the model is loaded and the server listens
    print(f"ttt: serving {args.model} at {server.listening_address}", file=sys.stderr, flush=True)
    signal.sigwait(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
