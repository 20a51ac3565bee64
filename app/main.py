"""Entry point of the desktop app: ``idlegrid app`` and the ``idlegrid-app`` script.

Checks the GUI libraries first (a missing PySide6 gives an install hint, not a traceback),
then makes sure this is the only app for the data folder (a second launch brings the first
one's dashboard forward and exits), builds the :class:`~app.shell.Shell` and runs Qt's loop.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from app import require_qt
from app.errors import AlreadyRunning, NoDisplayError
from engine.commands.app import add_arguments
from engine.errors import IdlegridError, UsageError

if TYPE_CHECKING:
    from app.application import Application


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idlegrid app", description="The idlegrid desktop app (tray + dashboard).")
    add_arguments(parser)
    return parser


def run_args(args: argparse.Namespace) -> int:
    """Run the app with parsed options (``idlegrid app`` and ``idlegrid-app``)."""
    devnet = True if args.devnet else False if args.network else None
    try:
        return run_app(devnet=devnet, devnet_port=args.devnet_port, blob_port=args.devnet_blob_port,
                       dev_account=args.dev_account, quit_after=args.quit_after)
    except AlreadyRunning as e:  # not an error: the user asked to see the app, and now does
        print(e.message, file=sys.stderr)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return run_args(args)
    except IdlegridError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"  hint: {e.hint}", file=sys.stderr)
        return e.exit_code


def run_app(*, devnet: bool | None = None, devnet_port: int = 8545, blob_port: int = 8547,
            dev_account: int | None = None, quit_after: float | None = None) -> int:
    """Run the app until Quit; the exit code. ``devnet`` None: devnet unless a network is set."""
    for option, port in (("--devnet-port", devnet_port), ("--devnet-blob-port", blob_port)):
        if not 0 < port < 65536:
            raise UsageError(f"{option} {port} is not a TCP port (1-65535)")
    if quit_after is not None and not quit_after > 0:
        raise UsageError(f"--quit-after {quit_after:g} is not a positive number of seconds")
    if dev_account is not None:
        check_dev_account(dev_account, devnet)  # bad input fails before any window
    require_qt()
    check_display()
    from app.application import Application

    app = Application(sys.argv[:1])
    if not app.claim_single_instance():
        raise AlreadyRunning()
    from app.shell import Shell  # the engine's imports only once we know we are the one instance

    shell = Shell(app, devnet=devnet, devnet_port=devnet_port, blob_port=blob_port, dev_account=dev_account)
    _quit_on_signals(app)
    shell.start()
    if quit_after is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(quit_after * 1000), shell.quit)
    print("idlegrid app: running (quit from the tray or dashboard menu; the engine service keeps working "
          "after Quit unless you choose \"Quit and stop earning\")", file=sys.stderr, flush=True)
    return app.exec()


def check_dev_account(dev_account: int, devnet: bool | None) -> None:
    """``--dev-account`` names one of anvil's 10 public keys and needs the devnet (the service
    checks again; here no window opens for a bad option)."""
    from engine.chain.devkeys import check_dev_account as check
    from engine.chain.settings import load_network

    check(dev_account, devnet=devnet if devnet is not None else load_network().market_address is None)


def check_display(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> None:
    """On Linux Qt aborts the process when there is no display; say so and how to get one."""
    env = os.environ if environ is None else environ
    if platform.startswith("linux") and not any(env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise NoDisplayError()


def _quit_on_signals(app: Application) -> None:
    """Ctrl-C and SIGTERM take the Quit path (checkpoint first). Python runs signal handlers
    only when it gets control, so the signal also writes to a socket Qt watches: no polling."""
    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def drain() -> None:
        with contextlib.suppress(OSError):
            reader.recv(64)

    notifier.activated.connect(drain)
    app._signal_sockets = (reader, writer, notifier)  # kept alive as long as the app
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit_requested.emit())
