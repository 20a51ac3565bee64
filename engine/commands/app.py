"""``idlegrid app``: the desktop app (tray + dashboard) on the local devnet or a network.

The app lives in the ``app`` package, which imports Qt; it is imported only inside ``run``
(a missing PySide6 then gives an install hint), so the engine and every other command never
load it. The options are defined here once; ``app.main`` (the ``idlegrid-app`` script) reuses them.
"""

from __future__ import annotations

import argparse
from typing import Any


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
    from app.main import run_args

    return run_args(args)
