"""The worker role: discover tasks, claim them, train, upload, commit, settle.

The package re-exports the names other parts of the engine, the app and the tests use, so
``from engine.worker import Worker, WorkerConfig`` keeps working wherever the code lives.
"""

from engine.worker.config import WorkerConfig
from engine.worker.worker import (
    CHALLENGED,
    COMMITTED,
    LOST,
    NETWORK_DOWN,
    PAID,
    ROLE,
    SLASHED,
    TRAINED,
    TRAINING,
    UPLOADED,
    Job,
    Worker,
    WorkerError,
    WorkerStatus,
    ignore_idle_policy,
)

__all__ = ["CHALLENGED", "COMMITTED", "LOST", "NETWORK_DOWN", "PAID", "ROLE", "SLASHED", "TRAINED",
           "TRAINING", "UPLOADED", "Job", "Worker", "WorkerConfig", "WorkerError", "WorkerStatus",
           "ignore_idle_policy"]
