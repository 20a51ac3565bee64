"""``idlegrid requester``: post training tasks with a reward, follow them, fetch checked results.

Signing is the wallet's (keyring or keystore file), or with ``--devnet --dev-account N`` one of
anvil's public test keys. The chain, market and blob server come from the ``[network]``
settings, or the local devnet's deployment with ``--devnet``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands.options import account_options
from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.requester import Requester, TaskView


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "requester", help="post training tasks with an escrowed reward and fetch their results",
        description="Post a task spec with its reward escrowed in the TaskMarket, follow it, "
        "download its checked result, or cancel it while nobody has claimed it.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="requester_command", metavar="ACTION")

    post = sub.add_parser("post", parents=[account_options()], help="validate, upload and post a task spec")
    post.add_argument("spec", type=Path, metavar="SPEC", help="the task spec (JSON)")
    post.add_argument(
        "--reward", required=True, metavar="ETH", help="reward escrowed for the worker, in ETH (e.g. 0.05)"
    )
    post.add_argument(
        "--stake", metavar="ETH", help="stake a worker must lock to claim, in ETH (default: a tenth of the reward)"
    )
    post.add_argument(
        "--window", type=int, metavar="SECONDS", help="challenge window after the result (default 3600 s)"
    )
    post.add_argument(
        "--claim-timeout", type=int, metavar="SECONDS", help="how long the task waits for a worker (default 86400 s)"
    )
    post.add_argument(
        "--train-timeout",
        type=int,
        metavar="SECONDS",
        help="how long a worker has to commit after claiming (default 4 x the spec's max_seconds, at least 1800 s)",
    )
    post.add_argument(
        "--data", type=Path, metavar="FILE", help="the dataset file a blob-dataset spec names (checked, then uploaded)"
    )
    post.set_defaults(func=_post)

    status = sub.add_parser("status", parents=[account_options()], help="your tasks, or one task in detail")
    status.add_argument("task_id", type=int, nargs="?", metavar="ID")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=_status)

    results = sub.add_parser(
        "results", parents=[account_options()], help="download a task's result and check it against the chain"
    )
    results.add_argument("task_id", type=int, metavar="ID")
    results.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the checkpoint and metrics.json"
    )
    results.set_defaults(func=_results)

    cancel = sub.add_parser(
        "cancel", parents=[account_options()], help="cancel an unclaimed task; its reward is credited back"
    )
    cancel.add_argument("task_id", type=int, metavar="ID")
    cancel.set_defaults(func=_cancel)

    withdraw = sub.add_parser(
        "withdraw", parents=[account_options()], help="send your credits (refunds, forfeited stakes) to the wallet"
    )
    withdraw.set_defaults(func=_withdraw)

    close_audit = sub.add_parser(
        "close-audit", parents=[account_options()],
        help="TaskMarket v2: credit back the verification fee no auditor earned, once the audit is over",
    )
    close_audit.add_argument("task_id", type=int, metavar="ID")
    close_audit.set_defaults(func=_close_audit)



def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _signer(args: argparse.Namespace, chain_id: int | None) -> Any:
    if args.dev_account is not None:
        from engine.chain.devkeys import dev_signer

        return dev_signer(args.dev_account, devnet=args.devnet)
    from engine.commands.wallet import _read_passphrase_file
    from engine.wallet import identity

    if args.passphrase_file:
        passphrase: Any = _read_passphrase_file(args.passphrase_file)
    else:
        passphrase = lambda: getpass.getpass("Wallet keystore passphrase: ")  # noqa: E731 (asked only if needed)
    return identity.load_signer(passphrase, chain_id=chain_id)


@contextmanager
def open_requester(args: argparse.Namespace, *, blobs_needed: bool = False) -> Iterator[Requester]:
    """A Requester on the configured (or devnet) network, signing as the chosen account.

    Only posting and results need the blob server; without one the local store stands in."""
    from engine.chain.devnet import network_settings
    from engine.chain.market import open_market
    from engine.config import paths
    from engine.history import History
    from engine.requester import Requester
    from engine.storage import LocalStore, open_store

    network = network_settings(devnet=args.devnet)
    if network.blob_url is None and blobs_needed:
        raise UsageError(
            "no blob server is configured, so the spec cannot be published",
            hint="set network.blob_url in the settings, or run `idlegrid devnet` (it serves blobs) and add --devnet",
        )
    market = open_market(network, _signer(args, network.chain_id))
    blobs = paths().ensure().blobs_dir
    store = open_store(network.blob_url, cache=blobs) if network.blob_url else LocalStore(blobs)
    history = History.open()
    try:
        yield Requester(market, store, history, local=LocalStore(blobs))
    finally:
        history.close()


def _post(args: argparse.Namespace) -> int:
    from engine.requester import format_eth, parse_eth
    from engine.tasks.load import load_spec

    load_spec(args.spec)  # a bad spec fails before the wallet is unlocked or the chain is asked
    reward = parse_eth(args.reward, "--reward")
    stake = None if args.stake is None else parse_eth(args.stake, "--stake")
    with open_requester(args, blobs_needed=True) as requester:
        requester.recover()
        task_id = requester.post(args.spec, reward=reward, stake=stake, window=args.window,
                                 claim_timeout=args.claim_timeout, train_timeout=args.train_timeout, data=args.data)
        (view,) = requester.status(task_id)
        job = requester.history.job(requester.chain_id, requester.market.address, task_id, "requester")
    print(f"posted task {task_id} ({view.name}): reward {format_eth(view.reward)} ETH escrowed, "
          f"worker stake {format_eth(view.stake)} ETH")
    print(f"spec:  blob:{view.spec_sha256}")
    print(f"claim by {_when(view.deadline)}; train within {view.train_timeout} s; "
          f"challenge window {view.challenge_window} s")
    print(f"tx:    {job.txs.get('post') if job else '?'}")
    return 0


def _status(args: argparse.Namespace) -> int:
    with open_requester(args) as requester:
        views = requester.status(args.task_id)
    if args.json:
        print(json.dumps([v.to_json() for v in views], indent=2))
    elif args.task_id is not None:
        _detail(views[0])
    elif not views:
        print(
            "no tasks posted from this wallet on this market yet "
            "(post one with `idlegrid requester post SPEC --reward ETH`)"
        )
    else:
        _table(views)
    return 0


def _table(views: list[TaskView]) -> None:
    from engine.requester import format_eth

    rows = [("ID", "NAME", "STATE", "REWARD ETH", "WORKER", "UNTIL")]
    for v in views:
        rows.append((str(v.task_id), v.name or "?", v.state, format_eth(v.reward),
                     _short(v.worker) if v.worker else "-", _deadline_label(v)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _deadline_label(v: TaskView) -> str:
    label = {"open": "claim by", "claimed": "submit by", "submitted": "window ends", "challenged": "disputed"}.get(
        v.state
    )
    return f"{label} {_when(v.deadline)}" if label and v.deadline else "-"


def _detail(v: TaskView) -> None:
    from engine.requester import format_eth

    lines = [
        ("task", f"{v.task_id} ({v.name or 'name unknown'})"),
        ("state", v.state),
        ("spec", f"blob:{v.spec_sha256}" if v.spec_sha256 else "?"),
        ("requester", v.requester),
        ("reward", f"{format_eth(v.reward)} ETH"),
        ("worker stake", f"{format_eth(v.stake)} ETH"),
        ("worker", v.worker or "-"),
        ("merkle root", f"{v.merkle_root} ({v.num_leaves} leaves)" if v.merkle_root else "-"),
        ("deadline", _deadline_label(v)),
        ("window end", _when(v.window_end) if v.window_end else "-"),
        ("terms", (f"claim timeout {v.claim_timeout} s, train timeout {v.train_timeout} s, "
                   f"challenge window {v.challenge_window} s")),
    ]
    d = v.dispute
    if d is None:
        lines.append(("dispute", "none"))
    else:
        jury = ", ".join(_short(j) for j in d.jury) or "not drawn yet"
        lines.append(
            ("dispute", f"segment {d.segment} challenged by {d.challenger} with a {format_eth(d.bond)} ETH bond")
        )
        lines.append(("jury", f"{jury}; votes honest {d.honest_votes}, cheat {d.cheat_votes}"))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key + ':':<{width + 1}} {value}")


def _results(args: argparse.Namespace) -> int:
    with open_requester(args, blobs_needed=True) as requester:
        out = requester.results(args.task_id, args.out)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    print(f"task {args.task_id} ({metrics['state']}): result matches the on-chain root {metrics['merkle_root']}")
    print(f"checkpoint: {out / metrics['checkpoint']} (leaf {metrics['leaf_hash'][:16]}…, step {metrics['steps']})")
    shown = ", ".join(f"{k} {v:.6g}" for k, v in sorted(metrics["metrics"].items()))
    print(f"metrics:    {out / 'metrics.json'} (final loss {metrics['final_loss']}{', ' + shown if shown else ''})")
    if metrics["state"] in ("submitted", "challenged"):
        print("note: the challenge window is still open; a verifier may yet dispute this result")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from engine.requester import format_eth

    with open_requester(args) as requester:
        requester.recover()
        tx = requester.cancel(args.task_id)
        (view,) = requester.status(args.task_id)
        credit = requester.credits()
    print(f"cancelled task {args.task_id}: {format_eth(view.reward)} ETH credited back "
          f"(your credit is now {format_eth(credit)} ETH; `idlegrid requester withdraw` sends it to the wallet)")
    print(f"tx: {tx}")
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    from engine.requester import format_eth

    with open_requester(args) as requester:
        amount, tx = requester.withdraw()
    print(f"withdrew {format_eth(amount)} ETH to {requester.address}")
    print(f"tx: {tx}")
    return 0


def _close_audit(args: argparse.Namespace) -> int:
    from engine.requester import format_eth

    with open_requester(args) as requester:
        requester.recover()
        refund, tx = requester.close_audit(args.task_id)
        credit = requester.credits()
    print(f"closed the audit of task {args.task_id}: {format_eth(refund)} ETH of its fee credited back "
          f"(your credit is now {format_eth(credit)} ETH; `idlegrid requester withdraw` sends it to the wallet)")
    print(f"tx: {tx}")
    return 0


def _when(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"
