"""What the history hands back: plain frozen records, Qt-free, cheap to compare.

The GUI's table model compares old and new records to repaint only changed rows, so records
are value types; wei fields are Python ints however large.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.history.codec import from_json, wei_value


@dataclass(frozen=True)
class JobRecord:
    """One job of this machine: a (chain, market, task, role) and everything known about it."""

    chain_id: int
    market: str
    task_id: int
    role: str
    name: str | None = None
    spec_sha256: str | None = None
    state: str = "new"
    outcome: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    steps: int | None = None
    steps_done: int | None = None
    loss: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    merkle_root: str | None = None
    reward: int | None = None
    stake: int | None = None
    gas_paid: int = 0
    txs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        values = dict(row)
        for name in ("metrics", "txs", "detail"):
            values[name] = from_json(values[name])
        for name in ("reward", "stake"):
            values[name] = wei_value(values[name])
        values["gas_paid"] = int(values["gas_paid"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready; wei as decimal strings (JSON readers in other languages lose big ints)."""
        data = asdict(self)
        for name in ("reward", "stake", "gas_paid"):
            data[name] = None if data[name] is None else str(data[name])
        return data


@dataclass(frozen=True)
class JournalEntry:
    """An intent begun and not yet ended: on restart, the owner reconciles it with the chain."""

    key: str
    action: str
    payload: dict[str, Any]
    begun_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JournalEntry:
        return cls(row["key"], row["action"], from_json(row["payload"]), row["begun_at"], row["updated_at"])


@dataclass(frozen=True)
class Earnings:
    """Money of one market, in wei.

    ``pending``: reward + stake of worker jobs committed but not finalized (still in a challenge
    window or a dispute). ``claimable``: credits waiting for ``withdraw`` (the chain's figure when
    it was given, else the ledger's). ``earned``: new money ever credited (rewards, dispute wins,
    juror rewards, audit fees, stakes won on data faults, demand bonds, stakes forfeited to a
    requester); ``returned``: the account's own stakes, bonds and payments credited back (never
    earnings); ``slashed`` and ``fined``: its own money lost to disputes and as a juror's fines.
    ``by_kind``: wei per ledger kind (:class:`engine.history.ledger.LedgerKind` values), the
    kinds with none left out.
    """

    chain_id: int
    market: str
    pending: int
    claimable: int
    withdrawn: int
    slashed: int
    gas_paid: int
    earned: int
    claimable_source: str  # "chain" or "ledger"
    returned: int = 0
    fined: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("pending", "claimable", "withdrawn", "slashed", "gas_paid", "earned", "returned", "fined"):
            data[name] = str(data[name])
        data["by_kind"] = {kind: str(wei) for kind, wei in self.by_kind.items()}
        return data
