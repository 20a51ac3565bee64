"""What the engine tells its observers (the CLI's live display, the desktop app, tests).

The worker, verifier and requester run off the GUI thread and never import Qt, so they report
through a plain callback taking :class:`EngineEvent`; the app's bridge re-emits each one as a
Qt signal. One small frozen type keeps that boundary easy to test and to log as JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Kind(str, Enum):
    """What an event is about; observers switch on this, never on the message text."""

    STATE = "state"          # the engine's own state changed (data: state, reason)
    PROGRESS = "progress"    # training progress (data: step, steps, loss, samples_per_s, eta_s)
    JOB = "job"              # a job moved in its lifecycle (data: state, and tx_hash where one was sent)
    EARNINGS = "earnings"    # totals changed (data: pending, claimable, withdrawn, in wei)
    NOTICE = "notice"        # worth a desktop notification: finished, paid, challenged, slashed
    ERROR = "error"          # needs the user's action (data: hint)
    GPU = "gpu"              # a new GPU/idle snapshot (data: utilisation, memory, blockers, decision)
    LOG = "log"              # everything else worth a line in the event log


class EngineState(str, Enum):
    """The one word the tray icon shows."""

    STARTING = "starting"
    WAITING = "waiting"      # waiting for the machine to be idle or for a task
    WORKING = "working"
    PAUSED = "paused"        # by the user or the idle policy; ``reason`` says which
    ERROR = "error"
    NO_GPU = "no_gpu"        # running on CPU because no GPU was found (still works)
    STOPPED = "stopped"


@dataclass(frozen=True)
class EngineEvent:
    kind: Kind
    message: str
    task_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "message": self.message, "task_id": self.task_id,
                "data": dict(self.data), "at": self.at}


Listener = Callable[[EngineEvent], None]


def ignore(event: EngineEvent) -> None:
    """The default listener, so producers never test for None."""
