"""The state every part of the worker shares, and its job rows in the history.

:class:`WorkerBase` holds what the worker was built with (market, store, history, settings,
idle policy) and its run-time state; the concerns of the worker (reporting, training,
uploads, settlement, the job state machine, discovery) are layered on it one module each,
and :class:`engine.worker.worker.Worker` stacks them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.chain.follower import LogFollower
from engine.chain.market import E, MarketEvent, Task, TaskMarket, TaskPosted
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import TaskPosted as TaskPostedV2
from engine.chain.records_v2 import TaskV2
from engine.events import EngineState, Listener, ignore
from engine.gpu.monitor import GpuBackend
from engine.gpu.policy import IdlePolicy
from engine.gpu.settings import PolicySettings
from engine.history.ledger import LedgerKind
from engine.history.records import JobRecord
from engine.roles.txjournal import Sent, TxJournal
from engine.runner.client import RunnerProcess
from engine.runner.pool import REUSE_JOBS, WarmRunners
from engine.tasks.load import check, parse
from engine.worker.config import WorkerConfig
from engine.worker.controller import YieldController
from engine.worker.states import LOG_RANGE, ROLE, Job, WorkerError, WorkerStatus
from engine.worker.uploader import CheckpointUploader

if TYPE_CHECKING:
    from engine.history import History
    from engine.storage import BlobStore

class _BlobsRunner(RunnerProcess):
    """The runner process, told where the dataset blobs were fetched to (once it is taken
    from the warm pool for a job); it serves up to ``REUSE_JOBS`` jobs."""

    def __init__(self, blobs: Path | None = None) -> None:
        super().__init__(max_jobs=REUSE_JOBS)
        self._blobs = blobs

    def start(self, spec: str | Path, out: str | Path, *, device: str = "auto",
              blobs: str | Path | None = None, progress_every_s: float = 0.5) -> None:
        super().start(spec, out, device=device, blobs=blobs or self._blobs, progress_every_s=progress_every_s)


def ignore_idle_policy() -> IdlePolicy:
    """``--ignore-idle``: train whatever else the machine does (heat and manual pause still count)."""
    return IdlePolicy(PolicySettings(run_when="always", pause_on_foreign_process=False,
                                     foreign_utilization_pct=100, pause_on_battery=False,
                                     max_vram_share=1.0, resume_after_s=0))


def worker_pay(task: Task | TaskV2) -> int:
    """What ``finalize`` credits the worker besides its stake: v1's reward, v2's payment less its
    verification fee (the job row's ``reward`` is this, whatever the version)."""
    return task.worker_pay if isinstance(task, TaskV2) else task.reward


class WorkerBase:
    """What the worker holds, and its history rows; see the package docstring."""

    def __init__(
        self, market: TaskMarket | TaskMarketV2, store: BlobStore, history: History, *, config: WorkerConfig,
        listener: Listener = ignore, gpu_backend: GpuBackend | None = None, policy: IdlePolicy | None = None,
        user_idle: Callable[[], float | None] | None = None, on_battery: Callable[[], bool | None] | None = None,
    ) -> None:
        self.market, self.store, self.history, self.config, self.listener = market, store, history, config, listener
        self.account = market.sender_or_fail().address
        self.chain_id = market.chain_id()
        self.journal = TxJournal(history, market, role=ROLE)
        self.backend, self.policy, self.user_idle, self.on_battery = _gpu_defaults(
            config, gpu_backend, policy, user_idle, on_battery)
        self._lock = threading.RLock()
        self._status = WorkerStatus(EngineState.STARTING, "starting")
        self._stop = threading.Event()
        self._pause_reason: str | None = None
        self._controller: YieldController | None = None
        self._candidates: set[int] = set()
        self._posted: dict[int, TaskPosted | TaskPostedV2] = {}
        self._skipped: dict[int, str] = {}
        self._follower: LogFollower[MarketEvent] | None = None  # the market's new events (log filter)
        self._handled: set[int] = set()  # tasks claimed or resumed by this run (for max_tasks)
        # committed jobs waiting out their window, as last read: task id -> (its deadline, when it
        # was read, monotonic); engine/worker/jobs.py re-reads one only when it may have changed
        self._waiting: dict[int, tuple[int, float]] = {}
        self._turn_now: int | None = None  # the chain's time, read at most once a turn
        self._jobs: dict[int, Job] = {}
        self._uploaders: dict[int, CheckpointUploader] = {}  # a job's checkpoints uploaded while it trains
        self._measured_flops: float | None = None
        self._last_earnings: tuple[int, ...] | None = None
        self._offline = False
        self._last_error: str | None = None
        self._last_decision: tuple[Any, ...] | None = None
        self._runners = WarmRunners(_BlobsRunner, enabled=config.warm_runner)

    def _job(self, record: JobRecord) -> Job:
        """The job of a history row, its spec re-read from its folder after a restart."""
        job = self._jobs.get(record.task_id)
        if job is None:
            folder = Path((record.detail or {}).get("job_dir") or self._job_dir(record.task_id))
            try:
                raw = (folder / "spec.json").read_bytes()
            except OSError:
                if record.spec_sha256 is None:
                    raise WorkerError(f"task {record.task_id}: {folder / 'spec.json'} is unreadable and its "
                                      "history row names no spec blob",
                                      hint="this is a bug in idlegrid; please report it") from None
                raw = self.store.get_bytes(record.spec_sha256, max_size=self.config.max_spec_bytes)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "spec.json").write_bytes(raw)
            job = Job(record.task_id, check(parse(raw)), folder, int(record.reward or 0), int(record.stake or 0))
            self._jobs[record.task_id] = job
        return job

    def _job_dir(self, task_id: int) -> Path:
        return self.config.jobs_root() / f"{self.chain_id}-{self.market.address[:10]}-{task_id}"

    def _record(self, task_id: int) -> JobRecord | None:
        return self.history.job(self.chain_id, self.market.address, task_id, ROLE)

    def _row(self, task_id: int) -> JobRecord:
        """The row of a job the worker took on: it writes one before it claims, so a missing row is a bug."""
        record = self._record(task_id)
        if record is None:
            raise WorkerError(f"task {task_id} has no row in the worker's job history",
                              hint="this is a bug in idlegrid; please report it with the service log")
        return record

    def _update(self, task_id: int, **fields: Any) -> JobRecord:
        """Write fields of the job's row (``detail`` merges key by key)."""
        return self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, **fields)

    def _record_tx(self, task_id: int, action: str, done: Sent) -> None:
        """The tx on the job row and its gas in the ledger; recording it again changes nothing."""
        self.history.record_tx(self.chain_id, self.market.address, task_id, ROLE, action, done.tx_hash, done.gas_paid)

    def _add_ledger(self, task_id: int | None, kind: LedgerKind, amount: int, tx_hash: str | None) -> None:
        if amount:
            self.history.add_ledger(self.chain_id, self.market.address, task_id, kind, amount, tx_hash=tx_hash)

    def _task_events(self, cls: type[E], task_id: int, from_block: int) -> list[E]:
        return self.market.task_events(cls, task_id, from_block=from_block, max_range=LOG_RANGE)

    def _now(self) -> int:
        """The time the next block will carry, which the contract's deadlines are checked against:
        the latest block's timestamp, or the clock when no block was mined for a while (a
        devnet mines only on transactions)."""
        return self.market.clock.next_block_time()




def _gpu_defaults(config: WorkerConfig, backend: GpuBackend | None, policy: IdlePolicy | None,
                  user_idle: Callable[[], float | None] | None, on_battery: Callable[[], bool | None] | None,
                  ) -> tuple[GpuBackend, IdlePolicy, Callable[[], float | None], Callable[[], bool | None]]:
    """What is not given comes from the ``[gpu]`` and ``[policy]`` settings and the OS."""
    from engine.gpu import default_chain, load_gpu_settings, load_policy_settings, open_backend
    from engine.gpu import on_battery as battery

    if backend is None or policy is None:
        gpu = load_gpu_settings()
        backend = backend or open_backend(gpu)
        if policy is None:
            policy = (ignore_idle_policy() if config.ignore_idle
                      else IdlePolicy(load_policy_settings(), device=gpu.device))
    if user_idle is None:
        user_idle = default_chain().idle_seconds
    return backend, policy, user_idle, on_battery or battery
