"""The worker's vocabulary: job states, what a job is, what the status line shows, its errors.

Job states are stored in the history's ``jobs.state`` column as their string values, so a
:class:`WorkerState` member compares equal to the text an older database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.errors import IdlegridError
from engine.events import EngineState
from engine.tasks.load import CheckedSpec

ROLE = "worker"
LOG_RANGE = 2_000
RUNNER_RETRIES = 3
NETWORK_DOWN = "waiting for the network"


class WorkerState(StrEnum):
    """A worker job's state (``jobs.state``), in lifecycle order; the last group ends a job."""

    CLAIMING = "claiming"
    CLAIMED = "claimed"
    TRAINING = "training"
    TRAINED = "trained"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    COMMITTING = "committing"
    COMMITTED = "committed"
    CHALLENGED = "challenged"
    ACCEPTED = "accepted"
    PAID = "paid"
    SLASHED = "slashed"
    EXPIRED = "expired"
    VOID = "void"  # v2: no jury decided a dispute; the stake came back, the task reopened
    LOST = "lost"
    UNCLAIMED = "unclaimed"
    FAILED = "failed"


ENDED = frozenset({WorkerState.PAID, WorkerState.SLASHED, WorkerState.EXPIRED, WorkerState.VOID, WorkerState.LOST,
                   WorkerState.UNCLAIMED, WorkerState.FAILED})
BEFORE_COMMIT = frozenset({WorkerState.CLAIMING, WorkerState.CLAIMED, WorkerState.TRAINING, WorkerState.TRAINED,
                           WorkerState.UPLOADING, WorkerState.UPLOADED, WorkerState.COMMITTING})


class WorkerError(IdlegridError):
    """Something the worker cannot do (nothing to withdraw, a job folder that changed)."""


class TrainingStopped(Exception):
    """Training was interrupted by the stop event; the runner saved a resume point."""


@dataclass(frozen=True)
class WorkerStatus:
    """What the tray and the CLI's status line show."""

    state: EngineState
    reason: str
    task_id: int | None = None
    task_name: str | None = None
    step: int | None = None
    steps: int | None = None
    loss: float | None = None
    samples_per_s: float | None = None
    eta_s: float | None = None


@dataclass
class Job:
    """A task this worker holds: its checked spec, terms and folder."""

    task_id: int
    checked: CheckedSpec
    dir: Path
    reward: int
    stake: int

    @property
    def name(self) -> str:
        return self.checked.spec.name

    @property
    def spec_path(self) -> Path:
        return self.dir / "spec.json"
