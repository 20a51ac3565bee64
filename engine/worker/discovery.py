"""Discovery and claiming: find open tasks, check each as hostile input, claim what fits."""

from __future__ import annotations

import functools

from engine.chain.errors import ChainError, ContractRevert, NonceConsumed, RpcUnreachable, TransactionTimeout
from engine.chain.events import EventCursor
from engine.chain.market import Challenged, MarketEvent, Task, TaskPosted, TaskReopened, TaskStatus
from engine.chain.records_v2 import TaskPosted as TaskPostedV2
from engine.chain.records_v2 import TaskV2
from engine.errors import SpecError
from engine.events import EngineState, Kind
from engine.gpu.policy import Action
from engine.network.gas import gas_too_high
from engine.roles.arithmetic import ArithmeticHere
from engine.roles.results import ResultFormatError, parse_blob_uri
from engine.storage.errors import BlobCorrupt, BlobNotFound, BlobTooLarge
from engine.tasks.judgement import Mode, judgement_for
from engine.tasks.posted import BadPostedSpec, evaluate_posted_spec
from engine.units import format_eth
from engine.worker import fit
from engine.worker.base import worker_pay
from engine.worker.jobs import JobMachine
from engine.worker.states import BEFORE_COMMIT, ENDED, LOG_RANGE, ROLE, Job, WorkerError, WorkerState


class Discovery(JobMachine):
    """Market events and a scan of the open tasks feed the candidates; :meth:`_evaluate` judges one."""

    @functools.cached_property
    def _arithmetic_here(self) -> ArithmeticHere:
        """What an exact-mode spec is checked against before claiming (asked once, lazily)."""
        return ArithmeticHere(self.config.device)

    def _may_claim(self) -> bool:
        limit = self.config.max_tasks
        if limit is not None and len(self._handled) >= limit:
            return False
        if self._pause_reason is not None or self.policy.manual_paused:
            self._set_state(EngineState.PAUSED, self._pause_reason or "paused by you")
            return False
        # one job trains at a time
        return not any(r.state in BEFORE_COMMIT for r in self._active_records())

    def _poll_events(self) -> bool:
        """Handle the market's events since the last call (at the first: scan the open tasks);
        True when there were any. One ``eth_getFilterChanges`` where the node keeps log filters
        (:mod:`engine.chain.follower`), else ``eth_getLogs`` from the cursor."""
        if self._follower is None:
            head = self.market.poller(confirmations=0).safe_head()
            self._scan_open_tasks()
            self._follower = self.market.follower(EventCursor(head + 1), max_range=LOG_RANGE)
        events = self._follower.changes()
        for event in events:
            self._on_market_event(event)
        return bool(events)

    def _scan_open_tasks(self) -> None:
        offset = 0
        while True:
            page = self.market.open_tasks(offset, 100)
            self._candidates.update(page)
            if len(page) < 100:
                return
            offset += len(page)

    def _on_market_event(self, event: MarketEvent) -> None:
        self._waiting.pop(getattr(event, "task_id", -1), None)  # a job it names is read again
        if isinstance(event, TaskPosted | TaskPostedV2):
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
        gas_price, waiting = self.market.gas_price(), None
        for task_id in sorted(self._candidates):
            self._candidates.discard(task_id)
            if task_id in self._skipped:
                continue
            known = self.history.job(self.chain_id, self.market.address, task_id, ROLE)
            if known is not None and known.state != WorkerState.UNCLAIMED:
                continue
            task = self.market.get_task(task_id)
            if task.status != TaskStatus.OPEN or self._now() > task.deadline:
                continue
            reason = gas_too_high(worker_pay(task), gas_price, max_share=self.config.max_gas_share,
                                  ceiling=self.market.sender_or_fail().policy.max_fee_per_gas)
            if reason is not None:
                waiting = reason
                self._candidates.add(task_id)  # still worth it once gas falls
                continue
            job = self._evaluate(task)
            if job is not None:
                self._claim(job, task)
                return True
        self._idle(waiting or "looking for tasks")
        return waiting is None  # waiting for gas to fall: nothing to do until the next poll

    def _evaluate(self, task: Task | TaskV2) -> Job | None:
        """The job to claim for ``task``, or None (the reason is logged) when it must not be."""
        task_id = task.task_id
        self._set_state(EngineState.WAITING, f"evaluating task {task_id}")
        posted = self._posted.get(task_id) or self._last_posted(task_id)
        if posted is None:
            self._skip(task_id, "its TaskPosted event was not found")
            return None
        spec_hash = posted.spec_hash.hex()
        try:
            sha = parse_blob_uri(posted.spec_uri)
            if sha != spec_hash:
                self._skip(task_id, f"its URI names blob {sha[:12]}…, "
                            f"but its on-chain specHash is {spec_hash[:12]}…")
                return None
            raw = self.store.get_bytes(sha, max_size=self.config.max_spec_bytes)
            checked = evaluate_posted_spec(raw, spec_hash, task_id)
        except BadPostedSpec as e:  # the spec pinned on chain can never be trained: skip the task for good
            self.history.remember_bad_task(self.chain_id, self.market.address, task_id, e.message, spec_hash)
            self._skip(task_id, e.message)
            return None
        except (ResultFormatError, BlobNotFound, BlobCorrupt, BlobTooLarge, SpecError) as e:
            self._skip(task_id, e.message)
            return None
        dataset_sha = getattr(checked.spec.dataset, "sha256", None)
        if dataset_sha is not None and not self.store.has(dataset_sha):
            self._skip(task_id, f"its dataset blob {dataset_sha[:12]}… is not in the blob store")
            return None
        judgement = judgement_for(checked.spec)
        if judgement.mode is Mode.EXACT:  # the spec names the arithmetic; a result of any other is rejected
            here = self._arithmetic_here.get()
            if here is None or not judgement.can_judge(here):
                self._skip(task_id, f"its spec requires arithmetic {judgement.arithmetic} (exact mode); this "
                                    f"machine computes with {here or 'an arithmetic it could not determine'}")
                return None
        machine = fit.machine(self.backend.snapshot(), device=self.policy.device,
                              max_vram_share=self.policy.settings.max_vram_share, config=self.config,
                              measured_flops=self._measured_flops)
        verdict = fit.judge(checked, reward=worker_pay(task), train_timeout=task.train_timeout, machine=machine,
                            config=self.config)
        if not verdict.ok:
            self._skip(task_id, verdict.reason)
            return None
        self._emit(Kind.LOG, f"task {task_id} ({checked.spec.name}) {verdict.reason}", task_id)
        job = Job(task_id, checked, self._job_dir(task_id), worker_pay(task), task.worker_stake)
        job.dir.mkdir(parents=True, exist_ok=True)
        job.spec_path.write_bytes(raw)
        return job

    def _last_posted(self, task_id: int) -> TaskPosted | TaskPostedV2 | None:
        events = [e for e in self._task_events(self.market.EVENT_TYPES["TaskPosted"], task_id, 0)
                  if isinstance(e, TaskPosted | TaskPostedV2)]
        return events[-1] if events else None

    def _skip(self, task_id: int, reason: str) -> None:
        self._skipped[task_id] = reason
        self._emit(Kind.LOG, f"task {task_id} skipped: {reason}", task_id, skipped=True, reason=reason)

    def _claim(self, job: Job, task: Task | TaskV2) -> None:
        self._jobs[job.task_id] = job
        self._update(job.task_id, name=job.name, spec_sha256=job.checked.sha256, state=WorkerState.CLAIMING,
                     steps=job.checked.spec.steps, steps_done=0, reward=worker_pay(task), stake=task.worker_stake,
                     outcome=None, error=None, detail={"job_dir": str(job.dir)})
        self._job_event(job.task_id, WorkerState.CLAIMING, f"claiming task {job.task_id} ({job.name}) "
                                               f"with a stake of {format_eth(task.worker_stake, digits=6)} ETH")
        try:
            done = self.journal.send(self.journal.key(job.task_id, "claim"), "claim",
                                     self.market.claim_task(job.task_id, task.worker_stake), task_id=job.task_id)
        except ContractRevert as e:
            self._on_revert("claim", job.task_id, e)
            return
        except NonceConsumed:
            # no receipt of ours, yet the nonce is used: the job stays CLAIMING and the next
            # turn reads the task, adopting it if the claim was ours after all, letting it go if not
            self._emit(Kind.LOG, f"the claim of task {job.task_id} had no receipt; the chain decides", job.task_id)
            return
        except ChainError as e:
            if isinstance(e, (RpcUnreachable, TransactionTimeout)):
                raise
            self._update(job.task_id, state=WorkerState.UNCLAIMED, outcome="not_claimed", error=e.message)
            if "insufficient funds" in e.message.lower():
                raise WorkerError(f"the wallet {self.account} cannot pay task {job.task_id}'s stake of "
                                  f"{format_eth(task.worker_stake, digits=6)} ETH plus gas",
                                  hint="send ETH to the wallet's address "
                                       "(on the devnet: `idlegrid devnet --fund ADDRESS`)") from None
            raise
        self._on_mined("claim", job.task_id, done)
