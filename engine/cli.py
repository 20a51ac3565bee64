"""The ``idlegrid`` command.

Each command lives in ``engine/commands/<name>.py`` with a ``register(subparsers)`` that adds
its parser and sets ``func``. Errors of the project's own type are printed as one clear
message (no traceback) and set the exit code. Anything else is a bug in idlegrid: it is still
one line on stderr (its type and message, exit 70), and its traceback is printed only when
``IDLEGRID_DEBUG`` is set, so no user ever meets a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engine import __version__
from engine.errors import IdlegridError

DEBUG_ENV = "IDLEGRID_DEBUG"
EXIT_BUG = 70  # EX_SOFTWARE

COMMAND_MODULES = (
    "engine.commands.task",
    "engine.commands.train",
    "engine.commands.replay",
    "engine.commands.arithmetic",
    "engine.commands.runner",
    "engine.commands.wallet",
    "engine.commands.devnet",
    "engine.commands.network",
    "engine.commands.blobs",
    "engine.commands.requester",
    "engine.commands.search",
    "engine.commands.worker",
    "engine.commands.verifier",
    "engine.commands.history",
    "engine.commands.earnings",
    "engine.commands.app",
    "engine.commands.daemon",
    "engine.commands.control",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idlegrid",
        description="Lend your idle GPU to a verifiable machine-learning training network.",
    )
    parser.add_argument("--version", action="version", version=f"idlegrid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except IdlegridError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"  hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `idlegrid history --json | head`: the reader left, nothing is wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail again
        return 141
    except Exception as e:  # a bug: one line for the user, the traceback on request
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: internal error: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
        print(f"  hint: this is a bug in idlegrid; run again with {DEBUG_ENV}=1 to see where, and report it",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
