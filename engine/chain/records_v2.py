"""TaskMarketV2's records: its task, dispute, demand, audit and verifier states, parameters, and
one dataclass per event. Pure data (no web3), like :mod:`engine.chain.records`.

Events whose fields v2 kept as v1 had them are v1's classes (``TaskCancelled``, ``Challenged``,
``JuryDrawn``, ...): a client that handles one handles it for both versions. Events that changed
(``TaskPosted`` gained ``arithmetic`` and lost its claim deadline, the vote events are keyed by
dispute id, ...) have their own classes here, with the v1 names. The deadlines v2's events leave
out come from the block's timestamp (:meth:`engine.chain.market_v2.TaskMarketV2.event_deadline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from engine.chain.records import (
    Challenged,
    ClaimExpired,
    JuryDrawDeferred,
    JuryDrawn,
    MarketEvent,
    TaskCancelled,
    TaskFinalized,
    TaskReopened,
    VerifierStakeWithdrawn,
    VerifierUnregistering,
    Withdrawn,
)


class TaskStatusV2(IntEnum):
    """A v2 task's status (TaskMarketV2.vy): a disputed result stays SUBMITTED."""

    OPEN = 0
    CLAIMED = 1
    SUBMITTED = 2
    FINALIZED = 5
    CANCELLED = 6


class DisputeStatus(IntEnum):
    """A v2 dispute's status (TaskMarketV2.vy: D_*)."""

    NONE = 0
    OPEN = 1
    WORKER_WON = 2
    CHALLENGER_WON = 3
    VOID = 4


@dataclass(frozen=True)
class TaskV2:
    """``deadline``: claim-by while OPEN, submit-by while CLAIMED, end of the challenge window from
    SUBMITTED on (unix seconds). ``reward`` is the whole payment, the verification fee included:
    the worker's share is :attr:`worker_pay`."""

    task_id: int
    requester: str
    reward: int
    worker: str
    worker_stake: int
    status: TaskStatusV2
    deadline: int
    num_leaves: int
    claim_timeout: int
    train_timeout: int
    challenge_window: int
    merkle_root: bytes
    dispute_id: int
    arithmetic: int
    submit_block: int
    verification_fee: int
    open_disputes: int
    pending_challenges: int

    @property
    def worker_pay(self) -> int:
        """What ``finalize`` credits the worker besides its stake: the payment less the fee."""
        return self.reward - self.verification_fee


@dataclass(frozen=True)
class DisputeV2:
    """One revealed challenge; ``commit_deadline == 0`` until its (current) jury is drawn."""

    dispute_id: int
    task_id: int
    round: int
    challenger: str
    bond: int
    segment: int
    status: DisputeStatus
    draws: int
    draw_block: int
    epoch: int
    commit_deadline: int
    reveal_deadline: int
    honest_votes: int
    cheat_votes: int


@dataclass(frozen=True)
class Demand:
    """A data demand: the worker answers leaf ``index`` by ``deadline`` or loses its stake."""

    demand_id: int
    task_id: int
    round: int
    demander: str
    bond: int
    index: int
    deadline: int


@dataclass(frozen=True)
class Audit:
    """A task's paid audit: auditors are drawn once (``assigned``), ``paid`` is the fee paid so far."""

    task_id: int
    round: int
    seed_block: int
    epoch: int
    assigned: bool
    closed: bool
    paid: int


@dataclass(frozen=True)
class VerifierInfo:
    """One account's standing as a verifier (all zero for a stranger)."""

    account: str
    stake: int
    arithmetic: int
    unbonding_until: int
    juror_duties: int
    active: bool


@dataclass(frozen=True)
class MarketParamsV2:
    min_verifier_stake: int
    min_challenge_bond: int
    jury_size: int
    commit_period: int
    reveal_period: int
    unbonding_period: int
    non_reveal_penalty: int
    juror_reward_bps: int
    wrong_vote_penalty: int
    max_draws: int
    epoch_length: int
    response_period: int
    audit_fee_bps: int
    auditors_per_task: int


# ---------------------------------------------------------------- events v2 changed


@dataclass(frozen=True, kw_only=True)
class TaskPosted(MarketEvent):
    """No claim deadline (block timestamp + claim_timeout) and no fee (reward is the payment)."""

    task_id: int
    requester: str
    spec_hash: bytes
    spec_uri: str
    reward: int
    worker_stake: int
    claim_timeout: int
    train_timeout: int
    challenge_window: int
    arithmetic: int


@dataclass(frozen=True, kw_only=True)
class TaskClaimed(MarketEvent):
    """No stake (the task's) and no submit deadline (block timestamp + train_timeout)."""

    task_id: int
    worker: str


@dataclass(frozen=True, kw_only=True)
class ResultSubmitted(MarketEvent):
    """No challenge deadline (block timestamp + challenge_window)."""

    task_id: int
    worker: str
    merkle_root: bytes
    num_leaves: int
    result_uri: str


@dataclass(frozen=True, kw_only=True)
class ChallengeCommitted(MarketEvent):
    task_id: int
    challenger: str
    commit_id: int
    bond: int


@dataclass(frozen=True, kw_only=True)
class ChallengeExpired(MarketEvent):
    task_id: int
    commit_id: int
    refunded: bool


@dataclass(frozen=True, kw_only=True)
class VoteCommitted(MarketEvent):
    dispute_id: int
    juror: str
    commitment: bytes


@dataclass(frozen=True, kw_only=True)
class VoteRevealed(MarketEvent):
    dispute_id: int
    juror: str
    worker_honest: bool


@dataclass(frozen=True, kw_only=True)
class JurorPenalized(MarketEvent):
    """A fine: for not revealing, or (``wrongVotePenalty``) for a vote against the outcome."""

    dispute_id: int
    juror: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class JuryRedrawn(MarketEvent):
    task_id: int
    dispute_id: int
    draws: int
    draw_block: int


@dataclass(frozen=True, kw_only=True)
class DisputeResolved(MarketEvent):
    """``outcome`` is the dispute's final :class:`DisputeStatus` (as an int on chain)."""

    task_id: int
    dispute_id: int
    outcome: int
    honest_votes: int
    cheat_votes: int
    slashed: int
    juror_share: int


@dataclass(frozen=True, kw_only=True)
class DataDemanded(MarketEvent):
    task_id: int
    demander: str
    demand_id: int
    index: int
    deadline: int


@dataclass(frozen=True, kw_only=True)
class DataAnswered(MarketEvent):
    task_id: int
    demand_id: int
    index: int
    leaf: bytes
    blob: bytes


@dataclass(frozen=True, kw_only=True)
class DataFault(MarketEvent):
    task_id: int
    demand_id: int
    demander: str
    slashed: int


@dataclass(frozen=True, kw_only=True)
class AuditorsAssigned(MarketEvent):
    task_id: int
    round: int
    auditors: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AuditCommitted(MarketEvent):
    task_id: int
    auditor: str
    commitment: bytes


@dataclass(frozen=True, kw_only=True)
class AuditRevealed(MarketEvent):
    task_id: int
    auditor: str
    segment: int
    leaf: bytes
    fee: int


@dataclass(frozen=True, kw_only=True)
class AuditClosed(MarketEvent):
    task_id: int
    refund: int


@dataclass(frozen=True, kw_only=True)
class VerifierRegistered(MarketEvent):
    """``stake`` is the verifier's whole stake after this registration or top-up."""

    verifier: str
    stake: int
    arithmetic: int


EVENT_TYPES_V2: dict[str, type[MarketEvent]] = {cls.__name__: cls for cls in (
    # unchanged from v1
    TaskCancelled, ClaimExpired, TaskReopened, Challenged, JuryDrawDeferred, JuryDrawn, TaskFinalized,
    Withdrawn, VerifierUnregistering, VerifierStakeWithdrawn,
    # new or changed in v2
    TaskPosted, TaskClaimed, ResultSubmitted, ChallengeCommitted, ChallengeExpired, VoteCommitted,
    VoteRevealed, JurorPenalized, JuryRedrawn, DisputeResolved, DataDemanded, DataAnswered, DataFault,
    AuditorsAssigned, AuditCommitted, AuditRevealed, AuditClosed, VerifierRegistered,
)}
