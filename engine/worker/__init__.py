"""The worker role: discover tasks, claim them, train, upload, commit, settle.

One concern per module, stacked into :class:`Worker` (see :mod:`engine.worker.worker`):
``base`` (shared state, job rows), ``reporting``, ``training``, ``upload``, ``settlement``
(reconciling journaled writes, payouts), ``jobs`` (the state machine), ``discovery``
(finding, judging and claiming tasks); ``fit`` judges whether a task suits this machine,
``controller`` runs training under the idle policy, ``config`` is the ``[worker]`` section.

The package re-exports the names other parts of the engine, the app and the tests use, so
``from engine.worker import Worker, WorkerConfig`` keeps working wherever the code lives.
The bare state names (``PAID``, ``COMMITTED``...) are the :class:`WorkerState` members.
"""

from engine.worker.base import ignore_idle_policy
from engine.worker.config import WorkerConfig
from engine.worker.states import NETWORK_DOWN, ROLE, Job, TrainingStopped, WorkerError, WorkerState, WorkerStatus
from engine.worker.worker import Worker

CLAIMING, CLAIMED, TRAINING, TRAINED = (WorkerState.CLAIMING, WorkerState.CLAIMED, WorkerState.TRAINING,
                                        WorkerState.TRAINED)
UPLOADING, UPLOADED, COMMITTING, COMMITTED = (WorkerState.UPLOADING, WorkerState.UPLOADED, WorkerState.COMMITTING,
                                              WorkerState.COMMITTED)
CHALLENGED, ACCEPTED, PAID, SLASHED = (WorkerState.CHALLENGED, WorkerState.ACCEPTED, WorkerState.PAID,
                                       WorkerState.SLASHED)
EXPIRED, LOST, UNCLAIMED, FAILED = WorkerState.EXPIRED, WorkerState.LOST, WorkerState.UNCLAIMED, WorkerState.FAILED

__all__ = ["ACCEPTED", "CHALLENGED", "CLAIMED", "CLAIMING", "COMMITTED", "COMMITTING", "EXPIRED", "FAILED", "LOST",
           "NETWORK_DOWN", "PAID", "ROLE", "SLASHED", "TRAINED", "TRAINING", "UNCLAIMED", "UPLOADED", "UPLOADING",
           "Job", "TrainingStopped", "Worker", "WorkerConfig", "WorkerError", "WorkerState", "WorkerStatus",
           "ignore_idle_policy"]
