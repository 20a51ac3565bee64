"""``idlegrid app``: the desktop app (tray + dashboard) on the local devnet or a network.

The app lives in the ``app`` package, which imports Qt; the engine never imports it, so this
command starts the app as its own process (``python -m app``, or the frozen ``idlegrid-app``)
with the same options and returns its exit code. The options are defined here once;
``app.main`` (the ``idlegrid-app`` script) reuses them and checks them.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
from typing import Any

from engine.errors import IdlegridError
from engine.spawn import app_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--devnet", action="store_true",
                       help="work on the local devnet (started as a child process unless one is running)")
    where.add_argument("--network", action="store_true",
                       help="work on the network configured in the settings ([network]); never start a devnet")
    parser.add_argument("--devnet-port", type=int, default=8545, metavar="PORT",
                        help="RPC port of the devnet the app starts (default 8545)")
    parser.add_argument("--devnet-blob-port", type=int, default=8547, metavar="PORT",
                        help="blob server port of the devnet the app starts (default 8547)")
    parser.add_argument("--dev-account", type=int, metavar="N",
                        help="with --devnet: sign with anvil's public dev key N (0-9) instead of the wallet")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit (the normal way: checkpoint, stop the engine and the devnet) after SECONDS; "
                        "for smoke tests and demos")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "app",
        help="start the desktop app (tray icon and dashboard)",
        description="Start the desktop app. With no network configured it works on the local devnet, "
        "starting `idlegrid devnet` as a child process unless one already runs. A second launch brings the "
        "running app's dashboard forward.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = app_command(*forwarded(args))
    try:
        child = subprocess.Popen(command)
    except OSError as e:
        raise IdlegridError(f"cannot start the desktop app {command[0]}: {e.strerror}",
                         hint="reinstall idlegrid with the app extras: `pip install 'idlegrid[app]'`") from None
    # Ctrl-C reaches the app directly (same terminal); a SIGTERM to us is passed on. Either way
    # the app quits the normal way (checkpoint, stop the engine) and its exit code is ours.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


def forwarded(args: argparse.Namespace) -> list[str]:
    """The command line that gives the app process the options parsed here."""
    argv = ["--devnet"] if args.devnet else ["--network"] if args.network else []
    argv += ["--devnet-port", str(args.devnet_port), "--devnet-blob-port", str(args.devnet_blob_port)]
    if args.dev_account is not None:
        argv += ["--dev-account", str(args.dev_account)]
    if args.quit_after is not None:
        argv += ["--quit-after", repr(args.quit_after)]
    return argv
