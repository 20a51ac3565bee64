"""The real market behind :class:`~engine.search.port.SearchMarket`: the requester's public API
(post, results, cancel, recover) on the TaskMarket, and one event-log scan per turn.

v1 and v2 log a task's steps as different classes (v2's TaskClaimed carries no deadline, its
DisputeResolved an outcome instead of ``worker_won``): :meth:`ChainMarket.poll` turns either into
the search's :class:`~engine.search.port.TaskEvent`. The deadlines v2's events leave out are read
(:meth:`TaskMarketV2.event_deadline`) only for this requester's own tasks, once per claim: a quiet
turn still asks the node for the head and nothing else."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.chain.events import EventCursor
from engine.chain.market import DisputeResolved, MarketEvent, ResultSubmitted, TaskClaimed, TaskPosted, TaskReopened
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import DisputeResolved as DisputeResolvedV2
from engine.chain.records_v2 import DisputeStatus
from engine.chain.records_v2 import ResultSubmitted as ResultSubmittedV2
from engine.chain.records_v2 import TaskClaimed as TaskClaimedV2
from engine.chain.records_v2 import TaskPosted as TaskPostedV2
from engine.history.records import JobRecord
from engine.requester import AuditOpen, Requester
from engine.requester.terms import ROLE
from engine.search.port import AuditClose, Posted, Result, SeenPost, Step, TaskEvent, Terms
from engine.tasks.load import CheckedSpec, canonical_json


class ChainMarket:
    """``folder`` keeps the candidates' spec files and their checked results."""

    def __init__(self, requester: Requester, folder: Path, *, confirmations: int = 0) -> None:
        self.requester = requester
        self.address: str = str(requester.address)
        self.folder = folder
        self._poller = requester.market.poller(confirmations=confirmations)
        self._reveal_period: int | None = None

    def head(self) -> int:
        return self._poller.safe_head()

    def now(self) -> float:
        return time.time()

    def recover(self) -> None:
        self.requester.recover()

    def post(self, checked: CheckedSpec, terms: Terms) -> Posted:
        path = self.folder / "specs" / f"{checked.sha256}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(canonical_json(checked.spec))
        task_id = self.requester.post(path, reward=terms.reward, stake=terms.stake, window=terms.window,
                                      claim_timeout=terms.claim_timeout, train_timeout=terms.train_timeout)
        job = self._job(task_id)
        detail = job.detail if job else {}
        return Posted(task_id, int(detail.get("posted_block", 0)), int(detail.get("claim_deadline", 0)),
                      job.reward if job and job.reward is not None else terms.reward, job.gas_paid if job else 0)

    def posts(self, from_block: int) -> list[SeenPost]:
        events, _ = self._poller.poll(EventCursor(from_block))
        me = self.address.lower()
        return [SeenPost(e.task_id, e.spec_hash, e.block_number, self._claim_deadline(e), e.reward)
                for e in events if isinstance(e, TaskPosted | TaskPostedV2) and e.requester.lower() == me]

    def poll(self, cursor: int) -> tuple[list[TaskEvent], int]:
        events, after = self._poller.poll(EventCursor(cursor))
        steps = [step for step in map(self._step, events) if step is not None]
        return steps, after.next_block

    def _step(self, e: MarketEvent) -> TaskEvent | None:
        """``e`` as a search step, or None where the search does not act on it."""
        if isinstance(e, TaskClaimed):
            return TaskEvent(Step.CLAIMED, e.task_id, e.submit_deadline)
        market = self.requester.market
        if isinstance(e, TaskClaimedV2) and isinstance(market, TaskMarketV2):
            if self._job(e.task_id) is None:        # its deadline costs reads: only for this requester's tasks
                return None
            return TaskEvent(Step.CLAIMED, e.task_id, market.event_deadline(e))
        if isinstance(e, TaskReopened):
            return TaskEvent(Step.REOPENED, e.task_id, e.claim_deadline)
        if isinstance(e, ResultSubmitted | ResultSubmittedV2):
            return TaskEvent(Step.SUBMITTED, e.task_id)
        if isinstance(e, DisputeResolved) and not e.worker_won:
            return TaskEvent(Step.SLASHED, e.task_id)
        if isinstance(e, DisputeResolvedV2) and e.outcome == DisputeStatus.CHALLENGER_WON:
            return TaskEvent(Step.SLASHED, e.task_id)
        return None

    def _claim_deadline(self, e: TaskPosted | TaskPostedV2) -> int:
        market = self.requester.market
        if isinstance(e, TaskPostedV2) and isinstance(market, TaskMarketV2):
            return market.event_deadline(e)                # v2's event has none: its block's time + claim timeout
        return e.claim_deadline if isinstance(e, TaskPosted) else 0

    def result(self, task_id: int) -> Result:
        out = self.requester.results(task_id, self.folder / "results" / str(task_id))
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        return Result({k: float(v) for k, v in metrics["metrics"].items()}, str(metrics["worker"]))

    def cancel(self, task_id: int) -> int:
        self.requester.cancel(task_id)
        (view,) = self.requester.status(task_id)
        return view.reward

    def gas(self, task_id: int) -> int:
        job = self._job(task_id)
        return job.gas_paid if job else 0

    def audit_delay(self) -> int | None:
        market = self.requester.market
        if not isinstance(market, TaskMarketV2):
            return None
        if self._reveal_period is None:                    # a constructor parameter: read once
            self._reveal_period = market.params().reveal_period
        return self._reveal_period

    def close_audit(self, task_id: int) -> AuditClose:
        """The requester's own close-audit (its checks, journal and ledger): idempotent, so a
        restart between the send and the search's record of it books nothing twice."""
        try:
            refund, _ = self.requester.close_audit(task_id)
        except AuditOpen as e:
            return AuditClose(None, float(e.closes_after + 1) if e.closes_after is not None else 0.0)
        return AuditClose(refund)

    def _job(self, task_id: int) -> JobRecord | None:
        r = self.requester
        return r.history.job(r.chain_id, r.market.address, task_id, ROLE)
