"""``idlegrid verifier``: audit committed results, challenge bad ones, serve on juries.

``idlegrid verifier`` runs headless and prints one line per action; ``idlegrid verifier
withdraw`` pulls the credits (juror rewards, won bonds, an unbonded stake);
``idlegrid verifier unregister`` leaves the jury pool. v1 and v2 markets alike
(``Verifier.from_settings`` gives a ``VerifierV2`` on TaskMarket v2).
"""

from __future__ import annotations

import argparse
import getpass
import signal
import threading
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.commands.options import account_options
from engine.errors import UsageError
from engine.events import EngineEvent

WEI = Decimal(10) ** 18


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verifier", parents=[account_options()],
        help="audit results, challenge cheats and serve on juries",
        description="Register a verifier stake, replay sampled segments of every committed result "
        "(seeded by the block after the commit), challenge a mismatch or withheld checkpoint with "
        "the bond, and serve on juries (replay, commit-reveal vote, resolve). One line per action. "
        "On TaskMarket v2 (chosen by the code on chain) it registers with the arithmetic of --device, "
        "replays the one segment a private salt picks, is paid a fee share when assigned to audit "
        "(commit, then reveal once the result is final), challenges in two steps and demands a "
        "checkpoint it cannot download; --samples, --detection and --faked-fraction are v1's.",
    )
    _history_option(p)
    p.add_argument("--stake", type=_eth, metavar="ETH",
                   help="verifier stake to register with (default: the market's minimum now)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--samples", type=int, metavar="K", help="replay K segments of every result (v1)")
    how.add_argument("--detection", type=float, metavar="P", default=0.99,
                     help="target probability of catching a run with --faked-fraction of its segments "
                          "faked (default 0.99); the stake's economics may ask for more samples (v1)")
    p.add_argument("--faked-fraction", type=float, metavar="F", default=1.0,
                   help="the share of faked segments --detection is for (default 1.0: a fully faked run)")
    p.add_argument("--once", action="store_true", help="do everything there is to do now, then exit")
    p.add_argument("--auto-withdraw", action="store_true", help="withdraw credits as soon as there are any")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="where to replay segments (default: cpu); on v2 also the arithmetic registered")
    p.add_argument("--poll", type=float, default=2.0, metavar="SECONDS",
                   help="how often to look for new events when idle (default 2)")
    p.set_defaults(func=_run)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    w = sub.add_parser("withdraw", parents=[account_options(suppress=True)],
                       help="withdraw the credits (and an unbonded stake)")
    _history_option(w, suppress=True)
    w.set_defaults(func=_withdraw)
    u = sub.add_parser("unregister", parents=[account_options(suppress=True)],
                       help="leave the jury pool (the stake unbonds)")
    _history_option(u, suppress=True)
    u.set_defaults(func=_unregister)


def _history_option(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """The verifier's own history database; a sub-command's copy must not reset the parent's."""
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    p.add_argument("--history", type=Path, metavar="FILE", **default,
                   help="the history database (default: yours; with --dev-account, one of that account's own)")


def _eth(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of ETH (e.g. 0.1)") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the stake must be a positive amount of ETH")
    return int(value * WEI)


def _print(event: EngineEvent) -> None:
    when = time.strftime("%H:%M:%S", time.localtime(event.at))
    task = f"task {event.task_id}: " if event.task_id is not None else ""
    print(f"{when} {task}{event.message}", flush=True)


def _open(args: argparse.Namespace, config: Any = None) -> Any:
    from engine.verifier import Verifier, VerifierConfig

    return Verifier.from_settings(config=config or VerifierConfig(), devnet=getattr(args, "devnet", False),
                                  dev_account=getattr(args, "dev_account", None),
                                  passphrase=_passphrase(getattr(args, "passphrase_file", None)),
                                  history=getattr(args, "history", None), listener=_print)


def _passphrase(path: Path | None) -> Any:
    if path is None:
        return lambda: getpass.getpass("Passphrase of the wallet's keystore file: ")
    try:
        lines = path.expanduser().read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"cannot read the passphrase file {path}: {e.strerror}",
                         hint="give a readable file whose first line is the passphrase") from None
    if not lines or not lines[0]:
        raise UsageError(f"the passphrase file {path} is empty", hint="put the passphrase on its first line")
    return lines[0]


def _run(args: argparse.Namespace) -> int:
    from engine.verifier import VerifierConfig

    if args.samples is not None and args.samples < 1:
        raise UsageError(f"--samples {args.samples}: replay at least one segment", hint="use --samples 1 or more")
    for name, value in (("--detection", args.detection), ("--faked-fraction", args.faked_fraction)):
        if not 0 < value <= 1:
            raise UsageError(f"{name} {value}: must be a probability in (0, 1]", hint=f"for example {name} 0.99")
    if args.poll <= 0:
        raise UsageError(f"--poll {args.poll}: must be positive")
    config = VerifierConfig(stake=args.stake, samples=args.samples, detection=args.detection,
                            faked_fraction=args.faked_fraction, auto_withdraw=args.auto_withdraw,
                            device=args.device, poll_interval_s=args.poll, mine_for_seed=args.devnet,
                            start_block=0 if args.devnet else None, replay_in_process=True)
    verifier = _open(args, config)
    if args.once:
        while verifier.step():
            pass
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    verifier.run(stop)
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    tx = _open(args).withdraw()
    if tx is None:
        print("nothing to withdraw")
    return 0


def _unregister(args: argparse.Namespace) -> int:
    print(_open(args).unregister())
    return 0

