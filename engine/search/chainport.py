"""The real market behind :class:`~engine.search.port.SearchMarket`: the requester's public API
(post, results, cancel, recover) on the TaskMarket, and one event-log scan per turn."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.chain.events import EventCursor
from engine.chain.market import MarketEvent, TaskPosted
from engine.history.records import JobRecord
from engine.requester import Requester
from engine.requester.terms import ROLE
from engine.search.port import Posted, Result, Terms
from engine.tasks.load import CheckedSpec, canonical_json


class ChainMarket:
    """``folder`` keeps the candidates' spec files and their checked results."""

    def __init__(self, requester: Requester, folder: Path, *, confirmations: int = 0) -> None:
        self.requester = requester
        self.address: str = str(requester.address)
        self.folder = folder
        self._poller = requester.market.poller(confirmations=confirmations)

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
                      terms.reward, job.gas_paid if job else 0)

    def posts(self, from_block: int) -> list[TaskPosted]:
        events, _ = self._poller.poll(EventCursor(from_block))
        me = self.address.lower()
        return [e for e in events if isinstance(e, TaskPosted) and e.requester.lower() == me]

    def poll(self, cursor: int) -> tuple[list[MarketEvent], int]:
        events, after = self._poller.poll(EventCursor(cursor))
        return events, after.next_block

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

    def _job(self, task_id: int) -> JobRecord | None:
        r = self.requester
        return r.history.job(r.chain_id, r.market.address, task_id, ROLE)
