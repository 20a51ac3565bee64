"""The earnings ledger: every movement of wei this machine caused or received, per market.

Amounts are signed ints stored as decimal text and summed in Python (SQLite's SUM would go
through int64 or float). A ledger entry with a tx hash is recorded once per (task, kind, tx),
so crash recovery can replay its bookkeeping without counting twice.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta

from engine.history.codec import wei_text
from engine.history.errors import InvalidRecord
from engine.history.records import Earnings

KINDS: dict[str, str] = {
    "reward": "a task's reward credited to its worker",
    "stake_returned": "a worker's stake credited back after an honest result",
    "juror_reward": "a juror's share of a slashed stake or bond",
    "bond_returned": "a verifier's challenge bond credited back",
    "refund": "a cancelled task's reward credited back to its requester",
    "stake_forfeited": "a worker's stake credited to the requester after a missed deadline",
    "withdrawn": "credits sent from the market to the wallet",
    "slashed": "stake or bond lost to a dispute",
    "gas": "fees paid for a transaction",
    "bond": "a verifier's bond or stake locked in the market",
    "stake": "a worker's stake locked when claiming",
    "escrow": "a requester's reward locked when posting",
}
CREDITED = ("reward", "stake_returned", "juror_reward", "bond_returned", "refund", "stake_forfeited")
EARNED = ("reward", "juror_reward")
# worker states between commit and payout: the reward and stake are then at stake in the window
PENDING_STATES = ("submitted", "committed", "challenged", "disputed", "accepted")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidRecord(f"unknown ledger kind {kind!r}", hint=f"the kinds are: {', '.join(KINDS)}")
    return kind


def add(conn: sqlite3.Connection, chain_id: int, market: str, task_id: int | None, kind: str, amount_wei: int,
        tx_hash: str | None, at: float | None) -> bool:
    """One ledger entry; False when this (task, kind, tx) was already recorded."""
    amount = wei_text(amount_wei, f"ledger amount ({kind})", signed=True)
    cursor = conn.execute(
        "INSERT OR IGNORE INTO ledger (chain_id, market, task_id, kind, amount, tx_hash, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (chain_id, market, task_id, check_kind(kind), amount, tx_hash, time.time() if at is None else float(at)),
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
    )


def per_day(conn: sqlite3.Connection, chain_id: int, market: str, days: int,
            today: date | None = None) -> list[tuple[str, int]]:
    """Wei earned (rewards, juror rewards) on each of the last ``days`` local days, oldest first, zeros kept."""
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
