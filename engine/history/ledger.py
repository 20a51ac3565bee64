"""The earnings ledger: every movement of wei this machine caused or received, per market.

Amounts are signed ints stored as decimal text and summed in Python (SQLite's SUM would go
through int64 or float). A ledger entry with a tx hash is recorded once per (task, kind, tx),
so crash recovery can replay its bookkeeping without counting twice. Each kind has a flow
(earned, returned, lost, locked, spent, withdrawn) that decides which total it joins: a stake
coming back is never earnings, a fine is a loss (docs/ledger.md lists them).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from engine.history.codec import wei_text
from engine.history.errors import InvalidRecord
from engine.history.records import Earnings


class LedgerKind(StrEnum):
    """What a ledger entry records; stored as its value in ``ledger.kind``."""

    REWARD = "reward"
    JUROR_REWARD = "juror_reward"
    AUDIT_FEE = "audit_fee"
    DATA_FAULT = "data_fault"
    DEMAND_BOND = "demand_bond"
    STAKE_FORFEITED = "stake_forfeited"
    STAKE_RETURNED = "stake_returned"
    BOND_RETURNED = "bond_returned"
    REFUND = "refund"
    SLASHED = "slashed"
    FINE = "fine"
    WITHDRAWN = "withdrawn"
    GAS = "gas"
    BOND = "bond"
    STAKE = "stake"
    ESCROW = "escrow"


class Flow(StrEnum):
    """Which way an entry moves this account's money: the totals add each kind by its flow."""

    EARNED = "earned"      # credited, and new money: counts as earnings
    RETURNED = "returned"  # credited, but the account's own money coming back: never earnings
    LOST = "lost"          # the account's own money taken (it was locked when staked or bonded)
    LOCKED = "locked"      # the account's own money put into the market
    SPENT = "spent"        # gas
    WITHDRAWN = "withdrawn"  # credits sent from the market to the wallet


@dataclass(frozen=True)
class KindInfo:
    """A kind's flow, what it records (docs, errors) and its short label (the app, the CLI)."""

    flow: Flow
    what: str
    label: str


KIND_INFO: dict[LedgerKind, KindInfo] = {
    LedgerKind.REWARD: KindInfo(Flow.EARNED, "a task's reward credited to its worker, or what a dispute won paid",
                                "Task rewards and disputes won"),
    LedgerKind.JUROR_REWARD: KindInfo(Flow.EARNED, "a juror's share of a slashed stake or bond", "Juror rewards"),
    LedgerKind.AUDIT_FEE: KindInfo(Flow.EARNED, "an assigned auditor's share of a task's verification fee (v2)",
                                   "Audit fees"),
    LedgerKind.DATA_FAULT: KindInfo(Flow.EARNED, "a worker's stake credited to the data demander it did not answer "
                                    "(v2)", "Stakes won on data faults"),
    LedgerKind.DEMAND_BOND: KindInfo(Flow.EARNED, "a data demander's bond credited to the worker that answered (v2)",
                                     "Data demand bonds"),
    LedgerKind.STAKE_FORFEITED: KindInfo(Flow.EARNED, "a worker's stake credited to the requester after a missed "
                                         "deadline", "Stakes forfeited to you"),
    LedgerKind.STAKE_RETURNED: KindInfo(Flow.RETURNED, "a worker's stake credited back: paid, or a void dispute",
                                        "Stakes returned"),
    LedgerKind.BOND_RETURNED: KindInfo(Flow.RETURNED, "a challenge or demand bond, or a verifier's stake, credited "
                                       "back (a won or void dispute, an unbonded stake)", "Bonds returned"),
    LedgerKind.REFUND: KindInfo(Flow.RETURNED, "a requester's payment credited back: a cancelled task, an unearned "
                                "verification fee", "Refunds"),
    LedgerKind.SLASHED: KindInfo(Flow.LOST, "a stake or bond lost to a dispute or a data fault", "Lost to disputes"),
    LedgerKind.FINE: KindInfo(Flow.LOST, "a juror's fine: a vote not revealed, or a vote against the outcome (v2)",
                              "Jury fines"),
    LedgerKind.WITHDRAWN: KindInfo(Flow.WITHDRAWN, "credits sent from the market to the wallet", "Withdrawn"),
    LedgerKind.GAS: KindInfo(Flow.SPENT, "fees paid for a transaction", "Gas fees"),
    LedgerKind.BOND: KindInfo(Flow.LOCKED, "a verifier's bond or stake locked in the market", "Bonds locked"),
    LedgerKind.STAKE: KindInfo(Flow.LOCKED, "a worker's stake locked when claiming", "Stakes locked"),
    LedgerKind.ESCROW: KindInfo(Flow.LOCKED, "a requester's payment locked when posting", "Payments escrowed"),
}
KINDS: dict[str, str] = {kind.value: info.what for kind, info in KIND_INFO.items()}


def kinds_of(flow: Flow) -> tuple[LedgerKind, ...]:
    return tuple(kind for kind, info in KIND_INFO.items() if info.flow is flow)


EARNED = kinds_of(Flow.EARNED)
RETURNED = kinds_of(Flow.RETURNED)
LOST = kinds_of(Flow.LOST)
CREDITED = EARNED + RETURNED
# worker states between commit and payout: the reward and stake are then at stake in the window
PENDING_STATES = ("submitted", "committed", "challenged", "disputed", "accepted")


def check_kind(kind: str) -> LedgerKind:
    try:
        return LedgerKind(kind)
    except ValueError:
        raise InvalidRecord(f"unknown ledger kind {kind!r}", hint=f"the kinds are: {', '.join(KINDS)}") from None


def add(conn: sqlite3.Connection, chain_id: int, market: str, task_id: int | None, kind: str, amount_wei: int,
        tx_hash: str | None, at: float | None) -> bool:
    """One ledger entry; False when this (task, kind, tx) was already recorded."""
    amount = wei_text(amount_wei, f"ledger amount ({kind})", signed=True)
    cursor = conn.execute(
        "INSERT OR IGNORE INTO ledger (chain_id, market, task_id, kind, amount, tx_hash, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (chain_id, market, task_id, check_kind(kind).value, amount, tx_hash, time.time() if at is None else float(at)),
    )
    return cursor.rowcount == 1


def totals(conn: sqlite3.Connection, chain_id: int, market: str) -> dict[str, int]:
    """The sum of each kind for one market (every kind present, zero when none)."""
    sums = dict.fromkeys(KINDS, 0)
    for row in conn.execute("SELECT kind, amount FROM ledger WHERE chain_id = ? AND market = ?", (chain_id, market)):
        sums[row["kind"]] = sums.get(row["kind"], 0) + int(row["amount"])
    return sums


def totals_since(conn: sqlite3.Connection, chain_id: int, market: str, since: float) -> dict[str, int]:
    """The sum of each kind recorded at or after ``since`` (unix time), every kind present."""
    sums = dict.fromkeys(KINDS, 0)
    rows = conn.execute("SELECT kind, amount FROM ledger WHERE chain_id = ? AND market = ? AND at >= ?",
                        (chain_id, market, float(since)))
    for row in rows:
        sums[row["kind"]] = sums.get(row["kind"], 0) + int(row["amount"])
    return sums


def pending(conn: sqlite3.Connection, chain_id: int, market: str) -> int:
    marks = ", ".join("?" * len(PENDING_STATES))
    rows = conn.execute(
        f"SELECT reward, stake FROM jobs WHERE chain_id = ? AND market = ? AND role = 'worker' AND state IN ({marks})",
        (chain_id, market, *PENDING_STATES))
    return sum(int(r["reward"] or 0) + int(r["stake"] or 0) for r in rows)


def earnings(conn: sqlite3.Connection, chain_id: int, market: str, account_credits_wei: int | None) -> Earnings:
    sums = totals(conn, chain_id, market)
    if account_credits_wei is None:
        claimable, source = max(0, sum(sums[k] for k in CREDITED) - sums["withdrawn"]), "ledger"
    else:
        claimable, source = int(account_credits_wei), "chain"
    return Earnings(
        chain_id=chain_id, market=market, pending=pending(conn, chain_id, market), claimable=claimable,
        withdrawn=sums["withdrawn"], slashed=sums["slashed"], gas_paid=sums["gas"],
        earned=sum(sums[k] for k in EARNED), claimable_source=source,
        returned=sum(sums[k] for k in RETURNED), fined=sums["fine"],
        by_kind={k.value: sums[k] for k in KIND_INFO if sums[k]},
    )


def per_day(conn: sqlite3.Connection, chain_id: int, market: str, days: int,
            today: date | None = None) -> list[tuple[str, int]]:
    """Wei earned (the EARNED kinds) on each of the last ``days`` local days, oldest first, zeros kept."""
    today = today or date.today()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time()).timestamp()
    earned = {(first + timedelta(days=i)).isoformat(): 0 for i in range(days)}
    marks = ", ".join("?" * len(EARNED))
    rows = conn.execute(
        f"SELECT amount, at FROM ledger WHERE chain_id = ? AND market = ? AND kind IN ({marks}) AND at >= ?",
        (chain_id, market, *EARNED, start))
    for row in rows:
        day = datetime.fromtimestamp(row["at"]).date().isoformat()
        if day in earned:
            earned[day] += int(row["amount"])
    return list(earned.items())
