"""``idlegrid daemon``: the per-user engine service (run it, stop it, start it at login).

``idlegrid daemon run`` is the one long-running engine process: it holds the worker, its
runner pool and the history, and serves the control API that the app and ``idlegrid status |
pause | resume | snooze | withdraw`` use. See docs/service.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.errors import UsageError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "daemon",
        help="the engine service: `daemon run` works in the background; the app and the CLI talk to it",
        description="The per-user engine service. `idlegrid daemon run` is the long-running process that "
        "holds the worker; the desktop app starts it when none runs and only talks to it, so closing the app "
        "keeps the work going. `idlegrid status`, `pause`, `resume`, `snooze` and `withdraw` talk to it too. "
        "One service runs per user and data folder.",
    )
    sub = p.add_subparsers(dest="daemon_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the engine service in this process (until Ctrl-C or `daemon stop`)",
                         description="Run the engine service in the foreground. Ctrl-C (or SIGTERM, or "
                         "`idlegrid daemon stop`) checkpoints the job and stops it. With no network in the "
                         "settings it works on the local devnet, starting `idlegrid devnet` unless one runs.")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--devnet", action="store_true",
                       help="work on the local devnet (default when no network is set)")
    where.add_argument("--network", action="store_true",
                       help="work on the network in the settings; never start a devnet")
    run.add_argument("--devnet-port", type=int, default=8545, metavar="PORT", help="RPC port of a devnet it starts")
    run.add_argument("--devnet-blob-port", type=int, default=8547, metavar="PORT",
                     help="blob server port of a devnet it starts")
    run.add_argument("--dev-account", type=int, metavar="N",
                     help="on the devnet: sign with anvil's public dev key N (0-9) instead of the wallet")
    run.add_argument("--ignore-idle", action="store_true", help="train even while the machine is in use")
    run.add_argument("--passphrase-file", type=Path, metavar="FILE",
                     help="the keystore passphrase (headless machines; the app asks for it instead)")
    run.set_defaults(func=_run)
    stop = sub.add_parser("stop", help="checkpoint the job and stop the running engine service")
    stop.set_defaults(func=_stop)
    auto = sub.add_parser("autostart", help="start the engine service with your session (systemd user unit, "
                          "XDG autostart, launchd agent or the Windows Run key)")
    auto.add_argument("action", choices=("enable", "disable", "show"), help="what to do with the login entry")
    auto.set_defaults(func=_autostart)


def _run(args: argparse.Namespace) -> int:
    from engine.service.daemon import run
    from engine.service.workhost import HostOptions

    for option, port in (("--devnet-port", args.devnet_port), ("--devnet-blob-port", args.devnet_blob_port)):
        if not 0 < port < 65536:
            raise UsageError(f"{option} {port} is not a TCP port (1-65535)")
    devnet = True if args.devnet else False if args.network else None
    passphrase = None
    if args.passphrase_file is not None:
        try:
            passphrase = args.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as e:
            raise UsageError(f"cannot read --passphrase-file {args.passphrase_file}: {e.strerror or e}") from None
    options = HostOptions(devnet=devnet, devnet_port=args.devnet_port, blob_port=args.devnet_blob_port,
                          dev_account=args.dev_account, ignore_idle=args.ignore_idle, passphrase=passphrase)
    if args.dev_account is not None:
        from engine.service.devnet_child import dev_signer

        dev_signer(args.dev_account, options.devnet_mode())  # a bad key fails before anything starts
    return run(options)


def _stop(args: argparse.Namespace) -> int:
    from engine.service.client import stop

    if stop():
        print("idlegrid daemon: stopped (the job was checkpointed)")
    else:
        print("idlegrid daemon: was not running")
    return 0


def _autostart(args: argparse.Namespace) -> int:
    from engine.service.autostart import for_this_system

    entry = for_this_system()
    if args.action == "enable":
        entry.enable()
    elif args.action == "disable":
        entry.disable()
    print(f"autostart: {'enabled' if entry.is_enabled() else 'disabled'} ({entry.where})")
    return 0
