"""``idlegrid runner``: the training subprocess (spawned by the engine, not run by hand)."""

from __future__ import annotations

import argparse
import os
import sys


def run(args: argparse.Namespace) -> int:
    from engine.runner.server import serve

    # The protocol owns the real stdout; anything else that prints (a library, a C extension)
    # goes to stderr so it can never corrupt a JSON line.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return serve(sys.stdin, proto)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("runner", help="the training subprocess (JSON lines on stdin/stdout)",
                       description="The training process the engine spawns. Reads JSON-line commands "
                                   "(start, pause, resume, stop) on stdin and writes events on stdout; "
                                   "see engine/runner/protocol.py.")
    p.set_defaults(func=run)
