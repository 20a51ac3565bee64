"""The job state machine: move each job this worker holds on as far as the chain says is due."""

from __future__ import annotations

import time

from engine.chain.errors import ContractRevert
from engine.chain.market import Task, TaskStatus
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import DataDemanded, TaskV2
from engine.commit.merkle import MerkleTree
from engine.errors import RunnerError
from engine.events import Kind
from engine.history.records import JobRecord
from engine.roles.results import ResultManifest, blob_uri
from engine.worker.disputes import Disputes
from engine.worker.states import (
    BEFORE_COMMIT,
    ENDED,
    ROLE,
    RUNNER_RETRIES,
    Job,
    TrainingStopped,
    WorkerError,
    WorkerState,
)

MANIFEST_MAX_BYTES = 4 * 1024 * 1024  # our own manifest, read back to answer a data demand
# a result waiting out its window with nothing open on it: committed, (v2) challenged and no
# longer contested (a demand answered), or upheld by a jury and still open to challenges
WAITING = frozenset({WorkerState.COMMITTED, WorkerState.CHALLENGED, WorkerState.ACCEPTED})
RECHECK_S = 60.0  # a committed job is re-read at least this often, events or not (a missed log, a reorg)


class JobMachine(Disputes):
    """One job at a time: train, upload, commit, wait out the window, finalize."""

    def _active_records(self) -> list[JobRecord]:
        """This market's jobs in a state of the job machine that has not ended, by task id.

        Selected in SQL by their states (every turn asks, and a worker's history grows without
        end): rows in no :class:`WorkerState`, such as a task skipped for its unusable spec,
        are not jobs of ours. Taking them for jobs once booked a skipped task as "slashed"."""
        live = [state.value for state in WorkerState if state not in ENDED]
        records = self.history.jobs(role=ROLE, chain_id=self.chain_id, market=self.market.address, states=live,
                                    limit=100_000)
        return sorted(records, key=lambda r: r.task_id)

    def _advance(self, record: JobRecord) -> bool:
        """Move one job on as far as is due now; True when it did something."""
        self._handled.add(record.task_id)
        if self._still_waiting(record):
            return False
        task = self.market.get_task(record.task_id)
        mine = task.worker == self.account
        state = record.state
        if state in BEFORE_COMMIT:
            if mine and task.status == TaskStatus.CLAIMED:
                if state == WorkerState.CLAIMING:  # the claim was mined, then a crash came before the row said so
                    self._recover(record.task_id, "claim")
                return self._work(self._row(record.task_id), task)
            if mine and task.status in (TaskStatus.SUBMITTED, TaskStatus.CHALLENGED, TaskStatus.ACCEPTED,
                                        TaskStatus.FINALIZED):
                self._recover(record.task_id, "commit")
                if self._row(record.task_id).state in BEFORE_COMMIT:
                    self._update(record.task_id, state=WorkerState.COMMITTED)
                return True
            if state == WorkerState.CLAIMING:
                self._update(record.task_id, state=WorkerState.UNCLAIMED, outcome="not_claimed",
                             finished_at=time.time())
                return True
            return self._ended_unpaid(record, task, WorkerState.EXPIRED)
        if not mine or task.status in (TaskStatus.OPEN, TaskStatus.CANCELLED, TaskStatus.CLAIMED):
            if isinstance(task, TaskV2):  # what earlier disputes paid, then what ended the result
                self._book_disputes(record, task)
                void = self._void_refund(record)
                if void is not None:
                    return self._ended_void(self._row(record.task_id), void)
            return self._ended_unpaid(self._row(record.task_id), task, WorkerState.SLASHED)
        if (isinstance(task, TaskV2) and (state != WorkerState.COMMITTED or _contested(task) or
                                          self._now() > task.deadline) and self._book_disputes(record, task)):
            return True
        if task.status == TaskStatus.CHALLENGED or _contested(task):
            if isinstance(task, TaskV2) and self._answer_demands(record):
                return True
            if state != WorkerState.CHALLENGED:
                self._update(record.task_id, state=WorkerState.CHALLENGED)
                self._emit(Kind.NOTICE, f"task {record.task_id}'s result was challenged; a jury will re-run it",
                           record.task_id)
                self._job_event(record.task_id, WorkerState.CHALLENGED, f"task {record.task_id} challenged")
                return True
            return False
        if task.status == TaskStatus.FINALIZED:
            self._paid(record.task_id, None, None)
            return True
        if task.status == TaskStatus.ACCEPTED or self._now() > task.deadline:
            return self._finalize(record, task)
        if state in WAITING:
            self._waiting[record.task_id] = (task.deadline, time.monotonic())
        return False

    def _answer_demands(self, record: JobRecord) -> bool:
        """v2: answer each open data demand on our result with the leaf, its Merkle proof and its
        checkpoint's blob address before its deadline (unanswered, the stake goes to the demander).
        Read from the chain every time, so a demand made while the worker was down is answered too;
        True when one was."""
        market = self.market
        if not isinstance(market, TaskMarketV2):
            return False
        start = int((record.detail or {}).get("commit_block", 0))
        did = False
        for demanded in self._task_events(DataDemanded, record.task_id, start):
            if market.get_demand(demanded.demand_id) is None:
                continue  # answered, or its fault claimed
            sha = str((record.detail or {}).get("manifest_sha256", ""))
            manifest = ResultManifest.from_bytes(self.store.get_bytes(sha, max_size=MANIFEST_MAX_BYTES))
            leaves = [bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves]
            i = demanded.index
            call = market.answer_data(demanded.demand_id, leaves[i], bytes.fromhex(manifest.leaves[i].blob),
                                      MerkleTree(leaves).proof(i))
            key = self.journal.key(f"{record.task_id}-demand-{demanded.demand_id}", "answer")
            try:
                done = self.journal.send(key, "answer", call, task_id=record.task_id)
            except ContractRevert as e:
                self._on_revert("answer", record.task_id, e)
                continue
            self._on_mined("answer", record.task_id, done)
            self._emit(Kind.NOTICE, f"task {record.task_id}: answered a data demand for checkpoint {i}; "
                                    "its bond is ours", record.task_id, tx_hash=done.tx_hash)
            did = True
        return did

    def _still_waiting(self, record: JobRecord) -> bool:
        """True for a committed job that nothing can have moved since it was last read: no market
        event named it since (``_on_market_event`` forgets it then), its window is still open by
        the chain's clock, and the read is under ``RECHECK_S`` old. Every turn used to read every
        such job, one ``getTask`` each: a worker with many results in their windows spent most
        of its CPU asking about them."""
        seen = self._waiting.get(record.task_id)
        if record.state not in WAITING or seen is None:
            return False
        deadline, read_at = seen
        if time.monotonic() - read_at >= RECHECK_S or self._chain_now() > deadline:
            del self._waiting[record.task_id]
            return False
        return True

    def _chain_now(self) -> int:
        """``_now()``, read once a turn (``step`` forgets it): the jobs of one turn share one read."""
        if self._turn_now is None:
            self._turn_now = self._now()
        return self._turn_now

    def _work(self, record: JobRecord, task: Task | TaskV2) -> bool:
        job = self._job(record)
        if self._now() > task.deadline:
            return self._ended_unpaid(record, task, WorkerState.EXPIRED)
        if record.state in (WorkerState.CLAIMING, WorkerState.CLAIMED, WorkerState.TRAINING):
            self._update(job.task_id, state=WorkerState.TRAINING)
            self._job_event(job.task_id, WorkerState.TRAINING, f"training task {job.task_id} ({job.name})")
            try:
                folder = self.train(job)
            except TrainingStopped:
                return False
            except RunnerError as e:
                return self._runner_failed(job, record, e)
            root, _leaves, result = self._read_result(job, folder)
            self._update(job.task_id, state=WorkerState.TRAINED, merkle_root="0x" + root.hex(),
                         steps_done=job.checked.spec.steps, loss=result.get("final_loss"),
                         metrics=result.get("metrics") or {})
            return True
        if record.state in (WorkerState.TRAINED, WorkerState.UPLOADING):
            self._update(job.task_id, state=WorkerState.UPLOADING)
            manifest_sha = self._upload(job, record.merkle_root)
            self._update(job.task_id, state=WorkerState.UPLOADED, detail={"manifest_sha256": manifest_sha})
            self._job_event(job.task_id, WorkerState.UPLOADED, f"uploaded task {job.task_id}'s checkpoints")
            return True
        return self._commit(job, self._row(job.task_id))

    def _runner_failed(self, job: Job, record: JobRecord, e: RunnerError) -> bool:
        """A crashed runner is restarted (it resumes from the last checkpoint) up to
        ``RUNNER_RETRIES`` times; a task that keeps failing is given up."""
        failures = int((record.detail or {}).get("runner_failures", 0)) + 1
        if failures <= RUNNER_RETRIES:
            self._update(job.task_id, detail={"runner_failures": failures}, error=e.message)
            self._emit(Kind.LOG, f"{e.message}; resuming from the last checkpoint (retry {failures} of "
                                 f"{RUNNER_RETRIES})", job.task_id)
            return True
        self._update(job.task_id, state=WorkerState.FAILED, outcome="failed", error=e.message, finished_at=time.time())
        self._emit(Kind.ERROR, f"gave up task {job.task_id} after {RUNNER_RETRIES} failed attempts: {e.message}",
                   job.task_id, hint=e.hint or f"see the job folder {job.dir}; its stake is lost at the deadline")
        return True

    def _commit(self, job: Job, record: JobRecord) -> bool:
        detail = record.detail or {}
        if record.merkle_root is None:  # written with state TRAINED, before any upload
            raise WorkerError(f"task {job.task_id} reached its commit without a Merkle root",
                              hint="this is a bug in idlegrid; please report it")
        root = bytes.fromhex(record.merkle_root.removeprefix("0x"))
        n = job.checked.spec.num_checkpoints
        self._update(job.task_id, state=WorkerState.COMMITTING)
        call = self.market.submit_result(job.task_id, root, n, blob_uri(detail["manifest_sha256"]))
        try:
            done = self.journal.send(self.journal.key(job.task_id, "commit"), "commit", call, task_id=job.task_id)
        except ContractRevert as e:
            self._on_revert("commit", job.task_id, e)
            return True
        self._on_mined("commit", job.task_id, done)
        return True

    def _finalize(self, record: JobRecord, task: Task | TaskV2) -> bool:
        if task.status == TaskStatus.ACCEPTED and not (record.detail or {}).get("dispute_won"):
            self._dispute_won(record, task)
        try:
            done = self.journal.send(self.journal.key(record.task_id, "finalize"), "finalize",
                                     self.market.finalize(record.task_id), task_id=record.task_id)
        except ContractRevert:
            return False  # finalized by someone else, or too early: the next turn re-reads the chain
        self._on_mined("finalize", record.task_id, done)
        return True


def _contested(task: Task | TaskV2) -> bool:
    """v2 keeps a disputed result SUBMITTED: it is contested while a dispute or an unrevealed
    challenge is open (finalize would revert), whatever v1's CHALLENGED status would say."""
    return isinstance(task, TaskV2) and (task.open_disputes > 0 or task.pending_challenges > 0)
