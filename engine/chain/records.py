"""The TaskMarket contract's records: task and dispute states, parameters, and one dataclass per
event. Pure data (no web3), so the roles, the app's service client and the tests can name them
without a node; :mod:`engine.chain.market` decodes into them and re-exports them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

ETHER = 10**18


class TaskStatus(IntEnum):
    OPEN = 0
    CLAIMED = 1
    SUBMITTED = 2
    CHALLENGED = 3
    ACCEPTED = 4
    FINALIZED = 5
    CANCELLED = 6


class Reveal(IntEnum):
    NONE = 0
    HONEST = 1
    CHEAT = 2


@dataclass(frozen=True)
class Task:
    """``deadline`` is the claim-by time while OPEN, the submit-by time while CLAIMED and the
    end of the challenge window from SUBMITTED on (unix seconds)."""

    task_id: int
    requester: str
    reward: int
    worker: str
    worker_stake: int
    status: TaskStatus
    deadline: int
    num_leaves: int
    claim_timeout: int
    train_timeout: int
    challenge_window: int
    merkle_root: bytes
    dispute_id: int


@dataclass(frozen=True)
class Dispute:
    """The latest dispute of a task; ``commit_deadline == 0`` until the jury is drawn."""

    task_id: int
    challenger: str
    bond: int
    segment: int
    draw_block: int
    commit_deadline: int
    reveal_deadline: int
    honest_votes: int
    cheat_votes: int
    jury: tuple[str, ...]


@dataclass(frozen=True)
class Vote:
    commitment: bytes
    reveal: Reveal


@dataclass(frozen=True)
class MarketParams:
    min_verifier_stake: int
    min_challenge_bond: int
    jury_size: int
    commit_period: int
    reveal_period: int
    unbonding_period: int
    non_reveal_penalty: int
    juror_reward_bps: int


# ---------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class MarketEvent:
    """Where an event was logged; each subclass adds the event's own fields (snake_case)."""

    block_number: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True, kw_only=True)
class TaskPosted(MarketEvent):
    task_id: int
    requester: str
    spec_hash: bytes
    spec_uri: str
    reward: int
    worker_stake: int
    claim_timeout: int
    train_timeout: int
    challenge_window: int
    claim_deadline: int


@dataclass(frozen=True, kw_only=True)
class TaskCancelled(MarketEvent):
    task_id: int
    requester: str
    refund: int


@dataclass(frozen=True, kw_only=True)
class TaskClaimed(MarketEvent):
    task_id: int
    worker: str
    stake: int
    submit_deadline: int


@dataclass(frozen=True, kw_only=True)
class ClaimExpired(MarketEvent):
    task_id: int
    worker: str
    requester: str
    forfeited: int


@dataclass(frozen=True, kw_only=True)
class TaskReopened(MarketEvent):
    task_id: int
    claim_deadline: int


@dataclass(frozen=True, kw_only=True)
class ResultSubmitted(MarketEvent):
    task_id: int
    worker: str
    merkle_root: bytes
    num_leaves: int
    result_uri: str
    challenge_deadline: int


@dataclass(frozen=True, kw_only=True)
class Challenged(MarketEvent):
    task_id: int
    challenger: str
    dispute_id: int
    segment: int
    bond: int
    draw_block: int


@dataclass(frozen=True, kw_only=True)
class JuryDrawDeferred(MarketEvent):
    task_id: int
    dispute_id: int
    draw_block: int


@dataclass(frozen=True, kw_only=True)
class JuryDrawn(MarketEvent):
    task_id: int
    dispute_id: int
    jury: tuple[str, ...]
    commit_deadline: int
    reveal_deadline: int


@dataclass(frozen=True, kw_only=True)
class VoteCommitted(MarketEvent):
    task_id: int
    juror: str
    commitment: bytes


@dataclass(frozen=True, kw_only=True)
class VoteRevealed(MarketEvent):
    task_id: int
    juror: str
    worker_honest: bool


@dataclass(frozen=True, kw_only=True)
class JurorPenalized(MarketEvent):
    task_id: int
    juror: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class DisputeResolved(MarketEvent):
    task_id: int
    dispute_id: int
    worker_won: bool
    honest_votes: int
    cheat_votes: int
    slashed: int
    juror_share: int


@dataclass(frozen=True, kw_only=True)
class TaskFinalized(MarketEvent):
    task_id: int
    worker: str
    payout: int


@dataclass(frozen=True, kw_only=True)
class Withdrawn(MarketEvent):
    account: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class VerifierRegistered(MarketEvent):
    verifier: str
    stake: int


@dataclass(frozen=True, kw_only=True)
class VerifierUnregistering(MarketEvent):
    verifier: str
    withdrawable_at: int


@dataclass(frozen=True, kw_only=True)
class VerifierStakeWithdrawn(MarketEvent):
    verifier: str
    amount: int


EVENT_TYPES: dict[str, type[MarketEvent]] = {cls.__name__: cls for cls in MarketEvent.__subclasses__()}
