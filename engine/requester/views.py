"""What ``idlegrid requester status`` shows of a task: the chain's facts plus what history knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

@dataclass(frozen=True)
class DisputeView:
    challenger: str
    segment: int
    bond: int
    commit_deadline: int
    reveal_deadline: int
    honest_votes: int
    cheat_votes: int
    jury: tuple[str, ...]


@dataclass(frozen=True)
class TaskView:
    """One task as the requester sees it: the chain's facts plus what history knows."""

    task_id: int
    name: str | None
    spec_sha256: str | None
    state: str                     # open, claimed, submitted, challenged, accepted, finalized, cancelled
    requester: str
    reward: int
    stake: int
    worker: str | None
    deadline: int                  # claim-by (open), submit-by (claimed), window end (submitted on)
    merkle_root: str | None
    num_leaves: int
    claim_timeout: int
    train_timeout: int
    challenge_window: int
    dispute: DisputeView | None

    @property
    def window_end(self) -> int | None:
        return self.deadline if self.state in ("submitted", "challenged") else None

    def to_json(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items() if k != "dispute"}
        body["dispute"] = None if self.dispute is None else dict(self.dispute.__dict__)
        body["window_end"] = self.window_end
        return body
