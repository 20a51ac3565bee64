"""What the coordinator needs of a market, as a protocol: the real one (:mod:`.chainport`, the
requester's public API on the TaskMarket) and a simulated one (:mod:`.simulated`, for scale
tests) implement it. Events are the search's own (:class:`TaskEvent`, :class:`SeenPost`), not a
chain client's: TaskMarket v1 and v2 log the same steps as different classes with different
fields, and the real market translates them, so the coordinator is the same on either."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from engine.tasks.load import CheckedSpec


@dataclass(frozen=True)
class Terms:
    """What each candidate's task offers: reward and stake in wei, timeouts in seconds."""

    reward: int
    stake: int | None = None
    window: int = 600
    claim_timeout: int = 3600
    train_timeout: int | None = None


@dataclass(frozen=True)
class Posted:
    task_id: int
    block: int
    claim_deadline: int
    reward: int
    gas: int


class Step(Enum):
    """What happened to a posted task, as far as the coordinator acts on it."""

    CLAIMED = "claimed"          # a worker took it: ``deadline`` is when its result is due
    REOPENED = "reopened"        # open again (claim expired, result slashed): ``deadline`` to claim by
    SUBMITTED = "submitted"      # a result is on chain
    SLASHED = "slashed"          # a jury found the result false; the market reopens the task


@dataclass(frozen=True)
class TaskEvent:
    """One step of one task, read from the market's log (``deadline``: unix seconds, 0 where
    the step has none)."""

    step: Step
    task_id: int
    deadline: int = 0


@dataclass(frozen=True)
class SeenPost:
    """A post of this requester found in the market's log: what a crash-interrupted post is
    matched against (by ``spec_hash``) on restart. ``reward``: the wei escrowed (on v2 the
    verification fee included)."""

    task_id: int
    spec_hash: bytes
    block: int
    claim_deadline: int
    reward: int


@dataclass(frozen=True)
class Result:
    """A result checked against the committed root: its held-out metrics and who trained it."""

    metrics: dict[str, float]
    worker: str


@dataclass(frozen=True)
class AuditClose:
    """One try at closing a finished task's paid audit (TaskMarket v2). ``refund``: the
    verification fee no auditor earned, credited back to the requester and booked in its ledger
    (the same amount, booked once, when the audit was closed before: by this search before a
    crash, or by anyone); None while the audit cannot close, and then ``retry_at`` (the port's
    clock, 0 if unknown) is when it may."""

    refund: int | None
    retry_at: float = 0.0


class SearchMarket(Protocol):
    """The market as the coordinator sees it. ``poll`` is one scan of the market's event log
    from a block cursor: the coordinator never polls tasks one by one."""

    address: str

    def head(self) -> int: ...

    def now(self) -> float: ...

    def recover(self) -> None: ...

    def post(self, checked: CheckedSpec, terms: Terms) -> Posted: ...

    def posts(self, from_block: int) -> list[SeenPost]: ...

    def poll(self, cursor: int) -> tuple[list[TaskEvent], int]: ...

    def result(self, task_id: int) -> Result: ...

    def cancel(self, task_id: int) -> int: ...

    def gas(self, task_id: int) -> int: ...

    def audit_delay(self) -> int | None:
        """Seconds after a result's challenge window until its audit can close; None where the
        market has no paid audits (v1: the payment is all the worker's)."""
        ...

    def close_audit(self, task_id: int) -> AuditClose: ...
