"""``idlegrid runner``: the training subprocess (spawned by the engine, not run by hand)."""

from __future__ import annotations

import argparse
import os
import sys


def run(args: argparse.Namespace) -> int:
    from engine.runner.server import MAX_GROWTH_MIB, serve

    # The protocol owns the real stdout; anything else that prints (a library, a C extension)
    # goes to stderr so it can never corrupt a JSON line.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    growth = MAX_GROWTH_MIB if args.max_growth_mib is None else args.max_growth_mib
    try:
        return serve(sys.stdin, proto, max_jobs=args.max_jobs, max_growth_mib=growth)
    finally:
        proto.close()  # the engine sees the end of our output now, not after torch's teardown


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of jobs of at least 1")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("runner", help="the training subprocess (JSON lines on stdin/stdout)",
                       description="The training process the engine spawns. Reads JSON-line commands "
                                   "(start, pause, resume, stop) on stdin and writes events on stdout; "
                                   "see engine/runner/protocol.py.")
    p.add_argument("--max-jobs", type=_positive, default=1, metavar="N",
                   help="serve up to N jobs one after another, saying free between them (default 1)")
    p.add_argument("--max-growth-mib", type=float, default=None, metavar="MIB",
                   help="leave after a job that grew resident memory by more than MIB since ready "
                        "(default: engine.runner.server.MAX_GROWTH_MIB)")
    p.set_defaults(func=run)
