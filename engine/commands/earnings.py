"""``idlegrid earnings``: pending, claimable, withdrawn, slashed, fined, gas, earned, returned, the
totals of each ledger kind, and what was earned per day.

Offline and instant: it reads the local ledger, not the chain (the worker records credits as
they happen; the chain stays the final word on what ``withdraw`` pays). The network is the
``[network]`` settings' chain and market; with none configured, every network in the history
is shown, one block each.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from engine.commands.options import history_db_options

if TYPE_CHECKING:
    from engine.history import Earnings, History


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "earnings", parents=[history_db_options()], help="pending, claimable and withdrawn ETH, and earnings per day",
        description="Totals of the configured network (chain_id and market_address in the [network] "
        "settings), or of every network in the history when none is configured.",
    )
    p.add_argument("--days", type=int, default=30, metavar="N", help="per-day list over the last N days (default 30)")
    p.add_argument("--all", action="store_true", help="every network in the history, not just the configured one")
    p.add_argument("--json", action="store_true", help="print JSON (exact wei as decimal strings)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.errors import UsageError
    from engine.history import History, default_path

    if not 1 <= args.days <= 3660:
        raise UsageError(f"--days {args.days} is out of range: give 1 to 3660")
    path = args.db or default_path()
    if not path.exists():
        if args.db is not None:
            raise UsageError(f"--db {path} does not exist", hint="give the path of a history.sqlite3 file")
        return _show([], args, f"the history ({path}) is empty")
    with History.open(path) as history:
        chosen, scope = _networks(history, args.all)
        blocks = [(history.earnings(chain_id, market), history.earnings_per_day(chain_id, market, args.days))
                  for chain_id, market in chosen]
    return _show(blocks, args, f"the history ({path}) has no jobs or payments{scope}")


def _networks(history: History, everything: bool) -> tuple[list[tuple[int, str]], str]:
    """The configured network (all chains of its market when no chain id is set), else all of
    them; and, for an empty answer, where was looked."""
    from engine.chain.settings import load_network

    known = history.networks()
    if everything or not known:
        return known, ""
    network = load_network()
    if network.market_address is None:
        return known, ""
    market = network.market_address.lower()
    mine = [(c, m) for c, m in known if m.lower() == market and network.chain_id in (None, c)]
    if not mine and network.chain_id is not None:
        return [(network.chain_id, network.market_address)], ""  # the configured network, at zero
    return mine, f" on the configured market {network.market_address} (`--all` shows every network)"


def _show(blocks: list[tuple[Earnings, list[tuple[str, int]]]], args: argparse.Namespace, empty: str) -> int:
    if args.json:
        print(json.dumps({"networks": [{**e.to_json(), "per_day": [[d, str(w)] for d, w in days]}
                                       for e, days in blocks]}, indent=2))
        return 0
    if not blocks:
        print(f"no earnings yet: {empty}; start earning with `idlegrid worker`")
        return 0
    for i, (earnings, days) in enumerate(blocks):
        if i:
            print()
        for line in _block(earnings, days, args.days):
            print(line)
    return 0


def _block(e: Earnings, days: list[tuple[str, int]], span: int) -> list[str]:
    from engine.history import KIND_INFO, LedgerKind
    from engine.history.report import eth, table

    source = "the chain's credits" if e.claimable_source == "chain" else "from the local ledger"
    rows = [
        ("pending", f"{eth(e.pending)} ETH", "reward + stake of committed jobs still in their challenge window"),
        ("claimable", f"{eth(e.claimable)} ETH", f"{source}; a withdraw sends it to your wallet"),
        ("withdrawn", f"{eth(e.withdrawn)} ETH", ""),
        ("slashed", f"{eth(e.slashed)} ETH", "stakes and bonds lost to disputes and data faults"),
        ("gas paid", f"{eth(e.gas_paid)} ETH", ""),
        ("earned", f"{eth(e.earned)} ETH", "rewards, disputes won, juror rewards, audit fees, stakes won, all time"),
        ("fined", f"{eth(e.fined)} ETH", "a juror's fines: votes not revealed or against the outcome"),
        ("returned", f"{eth(e.returned)} ETH", "your own stakes, bonds and payments credited back (not earnings)"),
    ]
    lines = [f"chain {e.chain_id}, market {e.market}", *("  " + line for line in table(rows))]
    if e.by_kind:
        lines.append("  by kind (all time):")
        by_kind = [(KIND_INFO[LedgerKind(k)].label, f"{eth(wei)} ETH", KIND_INFO[LedgerKind(k)].flow.value)
                   for k, wei in e.by_kind.items()]
        lines.extend("    " + line for line in table(by_kind))
    earned_days = [(day, wei) for day, wei in days if wei]
    if not earned_days:
        lines.append(f"  nothing earned in the last {span} days")
        return lines
    lines.append(f"  earned per day (last {span} days, days with earnings):")
    lines.extend("    " + line for line in table([(day, f"{eth(wei)} ETH") for day, wei in earned_days]))
    return lines
