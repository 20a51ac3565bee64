"""The worker: finds tasks on the market, trains them when the machine is idle, gets paid.

One turn of the state machine (:meth:`Worker.step`) does the first thing that is due:

1. **reconcile**: finish chain writes a crash or an outage left open (:mod:`engine.txjournal`);
2. **advance** a job this worker holds, as the chain says it stands: train it (the runner
   subprocess under the idle policy, :class:`engine.controller.YieldController`), upload its
   checkpoints and result manifest, commit the Merkle root, wait out the challenge window,
   finalize, record what it earned;
3. **discover** a new task (market events, and a scan of the open tasks at start), **evaluate**
   it (download the spec blob, check its sha256 against the on-chain specHash, validate it,
   :mod:`engine.fit`: memory, time, pay) and **claim** it with the task's stake.

Crash safety: every chain write is journaled before it is signed and its signed bytes before
they are sent; the job row in the history says how far the job got, and is written before
each step acts. On restart open journal entries are reconciled (never a second claim or
commit) and each job is re-read from the chain, so a crash at any point loses nothing: the
runner resumes training from the job folder, uploads are content-addressed (redoing one is
harmless), and the root is recomputed from the job folder and checked against the one
journaled. A network outage only makes the worker wait ("waiting for the network").

Torch-free: this module runs in the desktop app's process; training runs in the runner.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import fit
from engine.chain.errors import (
    ChainError,
    ContractRevert,
    NonceConsumed,
    RpcUnreachable,
    TransactionTimeout,
)
from engine.chain.events import EventCursor
from engine.chain.market import (
    Challenged,
    ClaimExpired,
    DisputeResolved,
    JurorPenalized,
    MarketEvent,
    ResultSubmitted,
    Task,
    TaskClaimed,
    TaskFinalized,
    TaskMarket,
    TaskPosted,
    TaskReopened,
    TaskStatus,
    Withdrawn,
)
from engine.chain.rpc import translated
from engine.commit.merkle import MerkleTree
from engine.controller import DONE, ERROR, RUNNING, YieldController
from engine.errors import CheckpointError, IdlegridError, RunnerError, SpecError
from engine.events import EngineEvent, EngineState, Kind, Listener, ignore
from engine.gpu.monitor import GpuBackend
from engine.gpu.policy import Action, Decision, IdlePolicy
from engine.gpu.settings import PolicySettings
from engine.results import LeafBlob, ResultFormatError, ResultManifest, blob_uri, parse_blob_uri
from engine.runner.client import RunnerProcess
from engine.runner.pool import WarmRunners
from engine.storage.errors import BlobCorrupt, BlobNotFound, BlobTooLarge, StorageUnavailable
from engine.tasks.load import CheckedSpec, check, parse
from engine.training.jobdir import JobDir
from engine.txjournal import Sent, TxJournal, sent
from engine.workerconfig import WorkerConfig

if TYPE_CHECKING:
    from engine.history import History
    from engine.storage import BlobStore

ROLE = "worker"
ETHER = 10**18
LOG_RANGE = 2_000
RUNNER_RETRIES = 3
# job.state values, in lifecycle order; the last group ends a job
CLAIMING, CLAIMED, TRAINING, TRAINED, UPLOADING, UPLOADED, COMMITTING, COMMITTED = (
    "claiming", "claimed", "training", "trained", "uploading", "uploaded", "committing", "committed")
CHALLENGED, ACCEPTED = "challenged", "accepted"
PAID, SLASHED, EXPIRED, LOST, UNCLAIMED, FAILED = "paid", "slashed", "expired", "lost", "unclaimed", "failed"
ENDED = (PAID, SLASHED, EXPIRED, LOST, UNCLAIMED, FAILED)
BEFORE_COMMIT = (CLAIMING, CLAIMED, TRAINING, TRAINED, UPLOADING, UPLOADED, COMMITTING)
NETWORK_DOWN = "waiting for the network"


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


class _BlobsRunner(RunnerProcess):
    """The runner process, told where the dataset blobs were fetched to (once it is taken
    from the warm pool for a job)."""

    def __init__(self, blobs: Path | None = None) -> None:
        super().__init__()
        self._blobs = blobs

    def start(self, spec: str | Path, out: str | Path, *, device: str = "auto",
              blobs: str | Path | None = None, progress_every_s: float = 0.5) -> None:
        super().start(spec, out, device=device, blobs=blobs or self._blobs, progress_every_s=progress_every_s)


def ignore_idle_policy() -> IdlePolicy:
    """``--ignore-idle``: train whatever else the machine does (heat and manual pause still count)."""
    return IdlePolicy(PolicySettings(run_when="always", pause_on_foreign_process=False,
                                     foreign_utilization_pct=100, pause_on_battery=False,
                                     max_vram_share=1.0, resume_after_s=0))


class Worker:
    """The worker state machine; see the module docstring. Thread-safe user controls."""

    def __init__(
        self, market: TaskMarket, store: BlobStore, history: History, *, config: WorkerConfig,
        listener: Listener = ignore, gpu_backend: GpuBackend | None = None, policy: IdlePolicy | None = None,
        user_idle: Callable[[], float | None] | None = None, on_battery: Callable[[], bool | None] | None = None,
    ) -> None:
        self.market, self.store, self.history, self.config, self.listener = market, store, history, config, listener
        self.account = market.sender_or_fail().address
        with translated("eth_chainId"):
            self.chain_id = int(market.w3.eth.chain_id)
        self.journal = TxJournal(history, market, role=ROLE)
        self.backend, self.policy, self.user_idle, self.on_battery = _gpu_defaults(
            config, gpu_backend, policy, user_idle, on_battery)
        self._lock = threading.RLock()
        self._status = WorkerStatus(EngineState.STARTING, "starting")
        self._stop = threading.Event()
        self._pause_reason: str | None = None
        self._controller: YieldController | None = None
        self._candidates: set[int] = set()
        self._posted: dict[int, TaskPosted] = {}
        self._skipped: dict[int, str] = {}
        self._cursor: EventCursor | None = None
        self._handled: set[int] = set()  # tasks claimed or resumed by this run (for max_tasks)
        self._jobs: dict[int, Job] = {}
        self._measured_flops: float | None = None
        self._last_earnings: tuple[int, ...] | None = None
        self._offline = False
        self._last_error: str | None = None
        self._last_decision: tuple[Any, ...] | None = None
        self._runners = WarmRunners(_BlobsRunner, enabled=config.warm_runner)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_settings(cls, *, devnet: bool = False, listener: Listener = ignore, signer: Any = None,
                      passphrase: Any = None, config: WorkerConfig | None = None) -> "Worker":
        """A worker on the configured network (or the local devnet), signing with the wallet
        (``signer`` overrides it: the CLI's ``--dev-account``), with the ``[worker]``,
        ``[gpu]`` and ``[policy]`` settings. On the devnet CPU training is allowed."""
        from engine.chain.devnet import network_settings
        from engine.chain.market import open_market
        from engine.config import paths
        from engine.history import History
        from engine.storage import open_store
        from engine.wallet import load_signer

        network = network_settings(devnet=devnet)
        config = config or WorkerConfig.from_settings()
        if signer is None:
            signer = load_signer(passphrase, chain_id=network.chain_id)
        market = open_market(network, signer)
        location = network.blob_url or str(paths().blobs_dir)
        store = open_store(location, cache=paths().cache_dir / "blobs")
        backend = None
        if devnet:
            from engine.gpu import open_backend
            from engine.gpu.settings import devnet_gpu_settings

            backend = open_backend(devnet_gpu_settings())
        return cls(market, store, History.open(), config=config, listener=listener, gpu_backend=backend)

    # ------------------------------------------------------------------ user controls

    def pause(self, reason: str = "paused by you") -> None:
        """Stop training (the runner checkpoints and exits) and claim nothing until resume()."""
        with self._lock:
            self._pause_reason = reason
            self.policy.pause()
        self._set_state(EngineState.PAUSED, reason)

    def resume(self) -> None:
        """End a pause or snooze; the idle policy's other rules still apply."""
        with self._lock:
            self._pause_reason = None
            self.policy.resume()
        self._set_state(EngineState.WAITING, "resumed")

    def snooze(self, seconds: float) -> None:
        """Pause for ``seconds``, then go on by itself."""
        from datetime import datetime

        until = self.policy.snooze_for(datetime.now().astimezone(), seconds)
        self._set_state(EngineState.PAUSED, f"snoozed until {until:%H:%M}")

    def request_stop(self) -> None:
        """Make a running step() (and run()) return soon; training in progress is checkpointed."""
        self._stop.set()

    def status(self) -> WorkerStatus:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        """True once ``max_tasks`` tasks were claimed or resumed by this run and all have ended."""
        limit = self.config.max_tasks
        return limit is not None and len(self._handled) >= limit and not self._active_records()

    def withdraw(self) -> str:
        """Send this account's credits (earned rewards and returned stakes) to it; the tx hash."""
        credits = self.market.credits(self.account)
        if credits == 0:
            raise WorkerError("nothing to withdraw: this account has no credits on the market",
                              hint="credits appear once a job's challenge window has passed and it was finalized")
        key = self.journal.key(f"withdraw-{int(time.time() * 1000)}", "withdraw")
        done = self.journal.send(key, "withdraw", self.market.withdraw(), credits=str(credits))
        self._on_mined("withdraw", None, done)
        return done.tx_hash

    def withdraw_gas_estimate(self) -> int:
        """What withdraw() would cost in gas, in wei (at the current fee)."""
        if self.market.credits(self.account) == 0:
            return 0
        gas = self.market.withdraw().estimate_gas()
        with translated("eth_gasPrice"):
            return gas * int(self.market.w3.eth.gas_price)

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Turn the state machine until ``stop`` is set (or ``done``); training in progress is
        checkpointed before it returns. Errors the user must act on are reported and retried."""
        self._stop = stop
        self._set_state(EngineState.WAITING, "looking for tasks")
        self._runners.warm()
        try:
            while not stop.is_set() and not self.done:
                try:
                    busy = self.step()
                except IdlegridError as e:
                    self._error(e)
                    busy = False
                if not busy and not self.done:
                    stop.wait(self.config.poll_s)
        finally:
            self._runners.close()
            self._set_state(EngineState.STOPPED, "stopped")

    def step(self) -> bool:
        """One turn (see the module docstring); False when there was nothing to do now."""
        try:
            if self._reconcile():
                return True
            self._poll_events()
            self._network_up()
            for record in self._active_records():
                if self._advance(record):
                    return True
            if self._may_claim():
                return self._discover()
            return False
        except (RpcUnreachable, TransactionTimeout, StorageUnavailable) as e:
            self._network_down(e)
            return False

    # ------------------------------------------------------------------ reconcile

    def _reconcile(self) -> bool:
        did = False
        for entry in self.journal.open_entries():
            task_id = entry.payload.get("task_id")
            try:
                done = self.journal.reconcile(entry)
            except ContractRevert as e:
                self._on_revert(entry.action, task_id, e)
                did = True
                continue
            except NonceConsumed:
                did = True
                continue  # ours was never mined: the chain's state decides what comes next
            if done is not None:
                self._on_mined(entry.action, task_id, done)
            did = True
        return did

    def _on_mined(self, action: str, task_id: int | None, done: Sent) -> None:
        events = self.market.events_in(done.receipt)
        if task_id is not None:
            self._record_tx(task_id, action, done)
        if action == "claim":
            record = self._record(task_id)
            self._add_ledger(task_id, "stake", int(record.stake or 0) if record else 0, done.tx_hash)
            self._update(task_id, state=CLAIMED, started_at=time.time())
            self._job_event(task_id, CLAIMED, f"claimed task {task_id}", tx_hash=done.tx_hash)
            self._handled.add(task_id)
        elif action == "commit":
            submitted = next((e for e in events if isinstance(e, ResultSubmitted)), None)
            detail = {"commit_block": int(done.receipt["blockNumber"])}
            if submitted is not None:
                detail["window_end"] = submitted.challenge_deadline
            self._update(task_id, state=COMMITTED, detail=detail)
            self._job_event(task_id, COMMITTED, f"committed task {task_id}'s result; challenge window open",
                            tx_hash=done.tx_hash)
        elif action == "finalize":
            finalized = next((e for e in events if isinstance(e, TaskFinalized)), None)
            self._paid(task_id, done.tx_hash, finalized.payout if finalized else None)
        elif action == "withdraw":
            amount = sum(e.amount for e in events if isinstance(e, Withdrawn))
            self._add_ledger(None, "gas", done.gas_paid, done.tx_hash)
            self._add_ledger(None, "withdrawn", amount, done.tx_hash)
            self._emit(Kind.NOTICE, f"withdrew {amount / ETHER:.6g} ETH", None,
                       tx_hash=done.tx_hash, amount=str(amount))
            self._earnings_changed()

    def _on_revert(self, action: str, task_id: int | None, e: ContractRevert) -> None:
        if action == "claim" and task_id is not None:
            self._update(task_id, state=LOST, outcome="lost_race", error=e.reason, finished_at=time.time())
            self._emit(Kind.LOG, f"task {task_id} went to another worker ({e.reason})", task_id)
        else:
            self._emit(Kind.LOG, f"{action} of task {task_id} reverted: {e.reason}", task_id)

    # ------------------------------------------------------------------ jobs

    def _active_records(self) -> list[Any]:
        records = self.history.jobs(role=ROLE, limit=100_000)
        return sorted((r for r in records if r.chain_id == self.chain_id and r.market == self.market.address
                       and r.state not in ENDED), key=lambda r: r.task_id)

    def _advance(self, record: Any) -> bool:
        """Move one job on as far as is due now; True when it did something."""
        self._handled.add(record.task_id)
        task = self.market.get_task(record.task_id)
        mine = task.worker == self.account
        state = record.state
        if state in BEFORE_COMMIT:
            if mine and task.status is TaskStatus.CLAIMED:
                if state == CLAIMING:  # the claim was mined, then a crash came before the row said so
                    self._recover(record.task_id, TaskClaimed, "claim")
                return self._work(self._record(record.task_id), task)
            if mine and task.status in (TaskStatus.SUBMITTED, TaskStatus.CHALLENGED, TaskStatus.ACCEPTED,
                                        TaskStatus.FINALIZED):
                self._recover(record.task_id, ResultSubmitted, "commit")
                if self._record(record.task_id).state in BEFORE_COMMIT:
                    self._update(record.task_id, state=COMMITTED)
                return True
            if state == CLAIMING:
                self._update(record.task_id, state=UNCLAIMED, outcome="not_claimed", finished_at=time.time())
                return True
            return self._ended_unpaid(record, task, EXPIRED)
        if not mine or task.status in (TaskStatus.OPEN, TaskStatus.CANCELLED, TaskStatus.CLAIMED):
            return self._ended_unpaid(record, task, SLASHED)
        if task.status is TaskStatus.CHALLENGED:
            if state != CHALLENGED:
                self._update(record.task_id, state=CHALLENGED)
                self._emit(Kind.NOTICE, f"task {record.task_id}'s result was challenged; a jury will re-run it",
                           record.task_id)
                self._job_event(record.task_id, CHALLENGED, f"task {record.task_id} challenged")
                return True
            return False
        if task.status is TaskStatus.FINALIZED:
            self._paid(record.task_id, None, None)
            return True
        if task.status is TaskStatus.ACCEPTED or self._now() > task.deadline:
            return self._finalize(record, task)
        return False

    def _work(self, record: Any, task: Task) -> bool:
        job = self._job(record)
        if self._now() > task.deadline:
            return self._ended_unpaid(record, task, EXPIRED)
        if record.state in (CLAIMING, CLAIMED, TRAINING):
            self._update(job.task_id, state=TRAINING)
            self._job_event(job.task_id, TRAINING, f"training task {job.task_id} ({job.name})")
            try:
                folder = self.train(job)
            except TrainingStopped:
                return False
            except RunnerError as e:
                return self._runner_failed(job, record, e)
            root, leaves, result = self._read_result(job, folder)
            self._update(job.task_id, state=TRAINED, merkle_root="0x" + root.hex(), steps_done=job.checked.spec.steps,
                         loss=result.get("final_loss"), metrics=result.get("metrics") or {})
            return True
        if record.state in (TRAINED, UPLOADING):
            self._update(job.task_id, state=UPLOADING)
            manifest_sha = self._upload(job, record.merkle_root)
            self._update(job.task_id, state=UPLOADED, detail={"manifest_sha256": manifest_sha})
            self._job_event(job.task_id, UPLOADED, f"uploaded task {job.task_id}'s checkpoints")
            return True
        return self._commit(job, self._record(job.task_id))

    def _recover(self, task_id: int, cls: type, action: str) -> None:
        """Book a transaction of ours that was mined while the worker was down (found by its event)."""
        ours = [e for e in self._task_events(cls, task_id, 0) if e.worker == self.account]
        if not ours:
            return
        with translated("eth_getTransactionReceipt"):
            receipt = self.market.w3.eth.get_transaction_receipt(ours[-1].tx_hash)
        self._on_mined(action, task_id, sent(receipt))

    def _runner_failed(self, job: Job, record: Any, e: RunnerError) -> bool:
        """A crashed runner is restarted (it resumes from the last checkpoint) up to
        ``RUNNER_RETRIES`` times; a task that keeps failing is given up."""
        failures = int((record.detail or {}).get("runner_failures", 0)) + 1
        if failures <= RUNNER_RETRIES:
            self._update(job.task_id, detail={"runner_failures": failures}, error=e.message)
            self._emit(Kind.LOG, f"{e.message}; resuming from the last checkpoint (retry {failures} of "
                                 f"{RUNNER_RETRIES})", job.task_id)
            return True
        self._update(job.task_id, state=FAILED, outcome="failed", error=e.message, finished_at=time.time())
        self._emit(Kind.ERROR, f"gave up task {job.task_id} after {RUNNER_RETRIES} failed attempts: {e.message}",
                   job.task_id, hint=e.hint or f"see the job folder {job.dir}; its stake is lost at the deadline")
        return True

    def _commit(self, job: Job, record: Any) -> bool:
        detail = record.detail or {}
        root = bytes.fromhex(record.merkle_root.removeprefix("0x"))
        n = job.checked.spec.num_checkpoints
        self._update(job.task_id, state=COMMITTING)
        call = self.market.submit_result(job.task_id, root, n, blob_uri(detail["manifest_sha256"]))
        try:
            done = self.journal.send(self.journal.key(job.task_id, "commit"), "commit", call, task_id=job.task_id)
        except ContractRevert as e:
            self._on_revert("commit", job.task_id, e)
            return True
        self._on_mined("commit", job.task_id, done)
        return True

    def _finalize(self, record: Any, task: Task) -> bool:
        if task.status is TaskStatus.ACCEPTED and not (record.detail or {}).get("dispute_won"):
            self._dispute_won(record, task)
        try:
            done = self.journal.send(self.journal.key(record.task_id, "finalize"), "finalize",
                                     self.market.finalize(record.task_id), task_id=record.task_id)
        except ContractRevert:
            return False  # finalized by someone else, or too early: the next turn re-reads the chain
        self._on_mined("finalize", record.task_id, done)
        return True

    def _paid(self, task_id: int, tx_hash: str | None, payout: int | None) -> None:
        record = self._record(task_id)
        if record.state == PAID:
            return
        if tx_hash is None:  # finalized by someone else (or before a crash): find the transaction
            start = int((record.detail or {}).get("commit_block", 0))
            finalized = self._task_events(TaskFinalized, task_id, start)
            if finalized:
                tx_hash, payout = finalized[-1].tx_hash, finalized[-1].payout
                with translated("eth_getTransactionReceipt"):
                    receipt = self.market.w3.eth.get_transaction_receipt(tx_hash)
                if receipt["from"] == self.account:  # ours, mined while the worker was down
                    self._record_tx(task_id, "finalize", sent(receipt))
        reward, stake = int(record.reward or 0), int(record.stake or 0)
        self._add_ledger(task_id, "reward", reward, tx_hash)
        self._add_ledger(task_id, "stake_returned", stake, tx_hash)
        self._update(task_id, state=PAID, outcome="paid", finished_at=time.time())
        total = payout if payout is not None else reward + stake
        self._job_event(task_id, PAID, f"task {task_id} paid", tx_hash=tx_hash)
        earned = total - stake  # the stake coming back was the worker's own money: not earnings
        self._emit(Kind.NOTICE, f"task {task_id} paid: earned {earned / ETHER:.6g} ETH (and the {stake / ETHER:.6g} "
                   "ETH stake back)", task_id,
                   reward=str(reward), stake=str(stake))
        self._earnings_changed()
        if self.config.auto_withdraw:
            self.withdraw()

    def _ended_unpaid(self, record: Any, task: Task, state: str) -> bool:
        """Our claim ran out (EXPIRED) or a jury ruled against our result (SLASHED): the stake is lost."""
        stake = int(record.stake or 0)
        start = int((record.detail or {}).get("commit_block", 0))
        proof = self._task_events(DisputeResolved if state == SLASHED else ClaimExpired, record.task_id, start)
        self._add_ledger(record.task_id, "slashed", stake, proof[-1].tx_hash if proof else None)
        self._update(record.task_id, state=state, outcome=state, finished_at=time.time())
        if state == SLASHED:
            message = (f"task {record.task_id}: the jury ruled against our result; "
                       f"stake of {stake / ETHER:.6g} ETH slashed")
        else:
            message = f"task {record.task_id}: the training deadline passed before the result was committed; stake lost"
        self._emit(Kind.NOTICE, message, record.task_id, stake=str(stake))
        self._job_event(record.task_id, state, message)
        self._earnings_changed()
        return True

    def _dispute_won(self, record: Any, task: Task) -> None:
        """Credit what winning the dispute paid us: the challenger's bond less the jurors' cut."""
        start = int((record.detail or {}).get("commit_block", 0))
        resolved = [e for e in self._task_events(DisputeResolved, record.task_id, start) if e.worker_won]
        if not resolved:
            return
        last = resolved[-1]
        penalties = sum(e.amount for e in self._task_events(JurorPenalized, record.task_id, start)
                        if e.tx_hash == last.tx_hash)
        won = last.slashed + penalties - last.juror_share * last.honest_votes
        self._add_ledger(record.task_id, "reward", won, last.tx_hash)
        self._update(record.task_id, state=ACCEPTED, detail={"dispute_won": str(won)})
        self._emit(Kind.NOTICE, f"task {record.task_id}: the jury upheld our result; won {won / ETHER:.6g} ETH",
                   record.task_id)

    # ------------------------------------------------------------------ training and upload

    def train(self, job: Job) -> Path:
        """Train ``job`` in its folder under the idle policy; return the folder once done.

        The only source of what gets uploaded and committed: afterwards the worker reads the
        folder's ``manifest.json`` (leaf hashes, final loss, metrics) and its
        ``ckpt-NNNNN.safetensors`` files, computes the Merkle root from the leaves and commits
        that. Subclasses may override it to tamper with the folder before it is uploaded:
        the end-to-end tests' cheating workers call ``super().train(job)`` and then skip
        steps, write random weights, repeat a stale checkpoint or train on wrong data
        (``tests/e2e/cheats.py``); ``job.checked`` is the task's checked spec.

        A folder already holding the finished run is returned at once (restart after a crash);
        otherwise the runner subprocess resumes from the folder's last checkpoint. Raises
        :class:`TrainingStopped` when the worker is stopped first (the runner saved a resume
        point) and :class:`RunnerError` when training fails.
        """
        if _finished(job):
            return job.dir
        blobs = self._fetch_datasets(job)
        ctl = YieldController(
            job.spec_path, job.dir, self.backend, self.policy, user_idle=self.user_idle, on_battery=self.on_battery,
            on_event=lambda event: self._on_runner_event(job, event), device=self.config.device,
            need_mib=int(job.checked.estimate.memory_mb), poll_s=self.config.controller_poll_s,
            progress_every_s=self.config.progress_every_s, runner_factory=lambda: self._runner_for(blobs),
        )
        self._train_started: float | None = None  # set by the runner's "started": speed excludes its start-up
        with self._lock:
            self._controller = ctl
        try:
            while not ctl.finished and not self._stop.is_set():
                ctl.tick()
                self._controller_state(job, ctl)
                deadline = time.monotonic() + self.config.controller_poll_s
                while not ctl.finished and (left := deadline - time.monotonic()) > 0 and not self._stop.is_set():
                    if ctl.runner is None:
                        self._stop.wait(left)
                    else:
                        ctl.pump(timeout=min(left, 0.05))
        finally:
            if not ctl.finished:
                ctl.close()
            with self._lock:
                self._controller = None
        if ctl.state == ERROR:
            raise RunnerError(f"training task {job.task_id} failed: {ctl.error}")
        if ctl.state != DONE:
            self._set_state(EngineState.PAUSED, "stopped: training checkpointed", job=job)
            raise TrainingStopped()
        elapsed = time.monotonic() - (self._train_started or time.monotonic())
        if ctl.done and not ctl.done.get("resumed_from") and elapsed > 1:
            self._measured_flops = job.checked.estimate.total_flops / elapsed
        return job.dir

    def _runner_for(self, blobs: Path) -> RunnerProcess:
        runner = self._runners.take()
        runner._blobs = blobs  # type: ignore[attr-defined]
        return runner

    def _controller_state(self, job: Job, ctl: YieldController) -> None:
        if ctl.decision is not None:
            self._gpu_decision(ctl.decision)
        if ctl.state == RUNNING:
            self._set_state(EngineState.WORKING, f"training task {job.task_id}", job=job)
            return
        decision = ctl.decision
        if self._pause_reason is not None:
            state, reason = EngineState.PAUSED, self._pause_reason
        elif decision is not None and decision.action is Action.PAUSE:
            state, reason = EngineState.PAUSED, decision.reason
        else:
            state, reason = EngineState.WAITING, ctl.reason
        self._set_state(state, reason, job=job)

    def _on_runner_event(self, job: Job, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "progress":
            with self._lock:
                self._status = replace(self._status, task_id=job.task_id, task_name=job.name, step=event.get("step"),
                                       steps=event.get("steps"), loss=event.get("loss"),
                                       samples_per_s=event.get("samples_per_s"), eta_s=event.get("eta_s"))
            self._emit(Kind.PROGRESS, f"task {job.task_id}: step {event.get('step')}/{event.get('steps')}",
                       job.task_id, **{k: event.get(k) for k in ("step", "steps", "loss", "samples_per_s", "eta_s")})
        elif kind == "checkpoint":
            self._update(job.task_id, steps_done=int(event.get("step") or 0))
        elif kind == "started":
            self._train_started = time.monotonic()
            self._record_device(job, str(event.get("device") or "cpu").split(":")[0], str(event.get("arithmetic") or ""))

    def _record_device(self, job: Job, device: str, arithmetic: str) -> None:
        """The device type and arithmetic in the result manifest: a job resumed on another is
        "mixed", which no exact-mode verifier can replay bit for bit (so it is never challenged)."""
        detail = self._record(job.task_id).detail or {}
        if detail.get("device") not in (None, device):
            device = "mixed"
            self._emit(Kind.LOG, f"task {job.task_id} resumed on another device type: its result cannot be "
                                 "verified exactly", job.task_id)
        if detail.get("arithmetic") not in (None, arithmetic):
            arithmetic = "mixed"
            self._emit(Kind.LOG, f"task {job.task_id} resumed with other arithmetic ({detail.get('arithmetic')} "
                                 "before): its result cannot be verified exactly", job.task_id)
        self._update(job.task_id, detail={"device": device, "arithmetic": arithmetic})

    def _fetch_datasets(self, job: Job) -> Path:
        """Dataset blobs into the local cache the runner reads (``<dir>/<sha256>``)."""
        root = self.config.blobs_root()
        root.mkdir(parents=True, exist_ok=True)
        dataset = job.checked.spec.dataset
        sha = getattr(dataset, "sha256", None)
        if sha is not None and not (root / sha).is_file():
            self.store.get_file(sha, root / sha, max_size=dataset.size)
        return root

    def _read_result(self, job: Job, folder: Path) -> tuple[bytes, list[str], dict[str, Any]]:
        """The finished job's leaves (checked complete), their Merkle root and the result."""
        try:
            manifest = JobDir(folder).read_manifest()
        except CheckpointError as e:
            raise WorkerError(f"job folder {folder} has no readable manifest.json ({e})",
                              hint="delete the folder: the job then trains again from the start") from None
        if manifest is None:
            raise WorkerError(f"job folder {folder} has no manifest.json",
                              hint="delete the folder: the job then trains again from the start")
        leaves, result = list(manifest.leaves), manifest.result or {}
        want = job.checked.spec.num_checkpoints
        if len(leaves) != want:
            raise WorkerError(f"job folder {folder} holds {len(leaves)} checkpoints, the task has {want}",
                              hint="delete the folder: the job then trains again from the start")
        return MerkleTree([bytes.fromhex(leaf) for leaf in leaves]).root, leaves, result

    def _upload(self, job: Job, committed_root: str | None) -> str:
        """Every checkpoint, then the result manifest; the manifest's sha256. Idempotent."""
        root, leaves, result = self._read_result(job, job.dir)
        root_hex = "0x" + root.hex()
        if committed_root is not None and committed_root != root_hex:
            raise WorkerError(f"job folder {job.dir} now hashes to root {root_hex}, not the {committed_root} "
                              f"recorded when training ended",
                              hint="the folder was changed; restore it or delete the job")
        spec = job.checked.spec
        blobs = []
        for i, leaf in enumerate(leaves):
            path = job.dir / f"ckpt-{i:05d}.safetensors"
            blobs.append(LeafBlob(index=i, step=spec.checkpoint_step(i), leaf_hash=leaf,
                                  blob=self.store.put_file(path), size=path.stat().st_size))
        trained = self._record(job.task_id).detail or {}
        manifest = ResultManifest(task_id=job.task_id, spec_sha256=job.checked.sha256, merkle_root=root_hex,
                                  steps=spec.steps, checkpoint_every=spec.checkpoint_every, leaves=tuple(blobs),
                                  final_loss=result.get("final_loss"), metrics=dict(result.get("metrics") or {}),
                                  device=trained.get("device", "cpu"), arithmetic=trained.get("arithmetic", ""))
        return self.store.put_bytes(manifest.to_bytes())

    # ------------------------------------------------------------------ discovery

    def _may_claim(self) -> bool:
        limit = self.config.max_tasks
        if limit is not None and len(self._handled) >= limit:
            return False
        if self._pause_reason is not None or self.policy.manual_paused:
            self._set_state(EngineState.PAUSED, self._pause_reason or "paused by you")
            return False
        if any(r.state in BEFORE_COMMIT for r in self._active_records()):
            return False  # one job trains at a time
        return True

    def _poll_events(self) -> None:
        poller = self.market.poller(confirmations=0)
        if self._cursor is None:
            head = poller.safe_head()
            self._scan_open_tasks()
            self._cursor = EventCursor(head + 1)
        events, self._cursor = poller.poll(self._cursor)
        for event in events:
            self._on_market_event(event)

    def _scan_open_tasks(self) -> None:
        offset = 0
        while True:
            page = self.market.open_tasks(offset, 100)
            self._candidates.update(page)
            if len(page) < 100:
                return
            offset += len(page)

    def _on_market_event(self, event: MarketEvent) -> None:
        if isinstance(event, TaskPosted):
            self._posted[event.task_id] = event
            self._candidates.add(event.task_id)
        elif isinstance(event, TaskReopened):
            self._candidates.add(event.task_id)
        elif isinstance(event, Challenged):
            record = self.history.job(self.chain_id, self.market.address, event.task_id, ROLE)
            if record is not None and record.state not in ENDED:
                self._emit(Kind.NOTICE, f"task {event.task_id}'s result was challenged (segment {event.segment})",
                           event.task_id, tx_hash=event.tx_hash)

    def _discover(self) -> bool:
        if not self._candidates:
            self._idle("looking for tasks")
            return False
        from datetime import datetime

        # claim only what may start now (a snooze, the user at the keyboard, no GPU: not yet)
        decision = self.policy.decide(self.backend.snapshot(), self.user_idle(), self.on_battery(),
                                      datetime.now().astimezone())
        self._gpu_decision(decision)
        if not decision.may_run:
            self._set_state(EngineState.PAUSED if decision.action is Action.PAUSE else EngineState.WAITING,
                            decision.reason)
            return False
        for task_id in sorted(self._candidates):
            self._candidates.discard(task_id)
            if task_id in self._skipped:
                continue
            known = self.history.job(self.chain_id, self.market.address, task_id, ROLE)
            if known is not None and known.state != UNCLAIMED:
                continue
            task = self.market.get_task(task_id)
            if task.status is not TaskStatus.OPEN or self._now() > task.deadline:
                continue
            job = self._evaluate(task)
            if job is not None:
                self._claim(job, task)
                return True
        self._idle("looking for tasks")
        return True

    def _evaluate(self, task: Task) -> Job | None:
        """The job to claim for ``task``, or None (the reason is logged) when it must not be."""
        task_id = task.task_id
        self._set_state(EngineState.WAITING, f"evaluating task {task_id}")
        posted = self._posted.get(task_id) or next(iter(self._task_events(TaskPosted, task_id, 0)[-1:]), None)
        if posted is None:
            return self._skip(task_id, "its TaskPosted event was not found")
        spec_hash = posted.spec_hash.hex()
        try:
            sha = parse_blob_uri(posted.spec_uri)
            if sha != spec_hash:
                return self._skip(task_id, f"its URI names blob {sha[:12]}…, "
                                           f"but its on-chain specHash is {spec_hash[:12]}…")
            raw = self.store.get_bytes(sha, max_size=self.config.max_spec_bytes)
            if hashlib.sha256(raw).hexdigest() != spec_hash:
                return self._skip(task_id, f"the spec blob does not hash to the on-chain specHash {spec_hash[:12]}…")
            checked = check(parse(raw, origin=f"task {task_id}'s spec"))
        except (ResultFormatError, BlobNotFound, BlobCorrupt, BlobTooLarge) as e:
            return self._skip(task_id, e.message)
        except SpecError as e:
            return self._skip(task_id, f"its spec is invalid: {e.message}")
        if checked.sha256 != spec_hash:
            return self._skip(task_id, "its spec blob is not the canonical JSON its specHash commits to")
        dataset_sha = getattr(checked.spec.dataset, "sha256", None)
        if dataset_sha is not None and not self.store.has(dataset_sha):
            return self._skip(task_id, f"its dataset blob {dataset_sha[:12]}… is not in the blob store")
        machine = fit.machine(self.backend.snapshot(), device=self.policy.device,
                              max_vram_share=self.policy.settings.max_vram_share, config=self.config,
                              measured_flops=self._measured_flops)
        verdict = fit.judge(checked, reward=task.reward, train_timeout=task.train_timeout, machine=machine,
                            config=self.config)
        if not verdict.ok:
            return self._skip(task_id, verdict.reason)
        self._emit(Kind.LOG, f"task {task_id} ({checked.spec.name}) {verdict.reason}", task_id)
        job = Job(task_id, checked, self._job_dir(task_id), task.reward, task.worker_stake)
        job.dir.mkdir(parents=True, exist_ok=True)
        job.spec_path.write_bytes(raw)
        return job

    def _skip(self, task_id: int, reason: str) -> None:
        self._skipped[task_id] = reason
        self._emit(Kind.LOG, f"task {task_id} skipped: {reason}", task_id, skipped=True, reason=reason)
        return None

    def _claim(self, job: Job, task: Task) -> None:
        self._jobs[job.task_id] = job
        self._update(job.task_id, name=job.name, spec_sha256=job.checked.sha256, state=CLAIMING,
                     steps=job.checked.spec.steps, steps_done=0, reward=task.reward, stake=task.worker_stake,
                     outcome=None, error=None, detail={"job_dir": str(job.dir)})
        self._job_event(job.task_id, CLAIMING, f"claiming task {job.task_id} ({job.name}) "
                                               f"with a stake of {task.worker_stake / ETHER:.6g} ETH")
        try:
            done = self.journal.send(self.journal.key(job.task_id, "claim"), "claim",
                                     self.market.claim_task(job.task_id, task.worker_stake), task_id=job.task_id)
        except ContractRevert as e:
            self._on_revert("claim", job.task_id, e)
            return
        except ChainError as e:
            if isinstance(e, (RpcUnreachable, TransactionTimeout)):
                raise
            self._update(job.task_id, state=UNCLAIMED, outcome="not_claimed", error=e.message)
            if "insufficient funds" in e.message.lower():
                raise WorkerError(f"the wallet {self.account} cannot pay task {job.task_id}'s stake of "
                                  f"{task.worker_stake / ETHER:.6g} ETH plus gas",
                                  hint="send ETH to the wallet's address "
                                       "(on the devnet: `idlegrid devnet --fund ADDRESS`)") from None
            raise
        self._on_mined("claim", job.task_id, done)

    # ------------------------------------------------------------------ helpers

    def _job(self, record: Any) -> Job:
        """The job of a history row, its spec re-read from its folder after a restart."""
        job = self._jobs.get(record.task_id)
        if job is None:
            folder = Path((record.detail or {}).get("job_dir") or self._job_dir(record.task_id))
            try:
                raw = (folder / "spec.json").read_bytes()
            except OSError:
                raw = self.store.get_bytes(record.spec_sha256, max_size=self.config.max_spec_bytes)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "spec.json").write_bytes(raw)
            job = Job(record.task_id, check(parse(raw)), folder, int(record.reward or 0), int(record.stake or 0))
            self._jobs[record.task_id] = job
        return job

    def _job_dir(self, task_id: int) -> Path:
        return self.config.jobs_root() / f"{self.chain_id}-{self.market.address[:10]}-{task_id}"

    def _record(self, task_id: int) -> Any:
        return self.history.job(self.chain_id, self.market.address, task_id, ROLE)

    def _update(self, task_id: int, **fields: Any) -> Any:
        """Write fields of the job's row (``detail`` merges key by key)."""
        return self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, **fields)

    def _record_tx(self, task_id: int, action: str, done: Sent) -> None:
        """The tx on the job row and its gas in the ledger; recording it again changes nothing."""
        self.history.record_tx(self.chain_id, self.market.address, task_id, ROLE, action, done.tx_hash, done.gas_paid)

    def _add_ledger(self, task_id: int | None, kind: str, amount: int, tx_hash: str | None) -> None:
        if amount:
            self.history.add_ledger(self.chain_id, self.market.address, task_id, kind, amount, tx_hash=tx_hash)

    def _task_events(self, cls: type, task_id: int, from_block: int) -> list[Any]:
        return self.market.task_events(cls, task_id, from_block=from_block, max_range=LOG_RANGE)

    def _now(self) -> int:
        """The time the next block will carry, which the contract's deadlines are checked against:
        the latest block's timestamp, or the clock when no block was mined for a while (a
        devnet mines only on transactions)."""
        with translated("eth_getBlockByNumber"):
            latest = int(self.market.w3.eth.get_block("latest")["timestamp"])
        return max(latest, int(time.time()))

    # ------------------------------------------------------------------ reporting

    def _set_state(self, state: EngineState, reason: str, *, job: Job | None = None) -> None:
        with self._lock:
            old = self._status
            status = replace(old, state=state, reason=reason)
            if job is not None:
                status = replace(status, task_id=job.task_id, task_name=job.name)
            elif state is not EngineState.WORKING and old.state is EngineState.WORKING:
                status = replace(status, task_id=None, task_name=None, step=None, steps=None, loss=None,
                                 samples_per_s=None, eta_s=None)
            self._status = status
        if (old.state, old.reason) != (state, reason):
            self._emit(Kind.STATE, reason, status.task_id, state=state.value, reason=reason)

    def _gpu_decision(self, decision: Decision) -> None:
        """A GPU event when the idle policy's verdict changes (not at every tick)."""
        key = (decision.action, decision.rule, decision.blocking)
        if key != self._last_decision:
            self._last_decision = key
            self._emit(Kind.GPU, decision.reason, None, decision=decision.action.value, rule=decision.rule.value,
                       blockers=[rule.value for rule in decision.blocking])

    def _idle(self, reason: str) -> None:
        self._set_state(EngineState.WAITING, reason)

    def _network_down(self, e: IdlegridError) -> None:
        self._set_state(EngineState.WAITING, NETWORK_DOWN)
        if not self._offline:
            self._offline = True
            self._emit(Kind.LOG, f"{NETWORK_DOWN}: {e.message}", None)

    def _network_up(self) -> None:
        self._last_error = None
        if self._offline:
            self._offline = False
            self._emit(Kind.LOG, "the network is back", None)
            self._idle("looking for tasks")

    def _error(self, e: IdlegridError) -> None:
        self._set_state(EngineState.ERROR, e.message)
        if e.message != self._last_error:  # once, not at every retry
            self._last_error = e.message
            self._emit(Kind.ERROR, e.message, None, hint=e.hint)

    def _job_event(self, task_id: int, state: str, message: str, *, tx_hash: str | None = None) -> None:
        self._emit(Kind.JOB, message, task_id, state=state, **({"tx_hash": tx_hash} if tx_hash else {}))

    def _earnings_changed(self) -> None:
        credits = self.market.credits(self.account)
        e = self.history.earnings(self.chain_id, self.market.address, credits)
        totals = (e.pending, e.claimable, e.withdrawn)
        if totals != self._last_earnings:
            self._last_earnings = totals
            self._emit(Kind.EARNINGS, f"claimable {e.claimable / ETHER:.6g} ETH", None,
                       pending=e.pending, claimable=e.claimable, withdrawn=e.withdrawn)

    def _emit(self, kind: Kind, message: str, task_id: int | None, **data: Any) -> None:
        event = EngineEvent(kind, message, task_id, data)
        if kind not in (Kind.PROGRESS, Kind.GPU, Kind.STATE):
            self.history.add_event(event)
        self.listener(event)


def _finished(job: Job) -> bool:
    try:
        manifest = JobDir(job.dir).read_manifest()
    except CheckpointError:
        return False
    return (manifest is not None and manifest.result is not None
            and len(manifest.leaves) == job.checked.spec.num_checkpoints)


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


__all__ = ["Job", "TrainingStopped", "Worker", "WorkerConfig", "WorkerError", "WorkerStatus"]
