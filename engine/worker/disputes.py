"""v2 disputes in the worker's ledger: what each dispute on our result paid or gave back.

On TaskMarket v2 a result stays challengeable until its window ends, so it can see several
disputes. Each one the jury decides for the worker credits it the challenger's bond less the
jurors' cut, and the result stays open (v1's single win set ACCEPTED and was booked from
there). A dispute without a decision after ``maxDraws`` juries is void: the challenger's bond
and the worker's stake go back and the task reopens, with no reward. A "cheat" verdict (or an
unanswered data demand) takes the stake and reopens the task; every other dispute of that
result is then void without giving the worker anything.

The result's life ends at the first ``TaskReopened`` after its commit: a dispute resolved
later is on someone else's result (or void at no one's gain), and the transaction that
reopened the task says what ended ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from engine.chain.market import MarketEvent, TaskReopened
from engine.chain.market_v2 import winner_payout
from engine.chain.records_v2 import DisputeResolved, DisputeStatus, TaskStatusV2, TaskV2
from engine.events import Kind
from engine.history.ledger import LedgerKind
from engine.history.records import JobRecord
from engine.units import format_eth
from engine.worker.settlement import Settlement
from engine.worker.states import WorkerState


@dataclass(frozen=True)
class DisputeWon:
    """What one dispute decided for the worker paid it, and the ``resolve`` that paid it."""

    dispute_id: int
    amount: int
    tx_hash: str


class Disputes(Settlement):
    """Books v2's disputes on this worker's results: each win once, a void dispute's refund."""

    def _book_disputes(self, record: JobRecord, task: TaskV2) -> bool:
        """Credit each dispute on our result that the jury decided for us, once each (the ledger
        keys it by its ``resolve`` transaction, so a restart books nothing twice); True when one
        was new. With no dispute open the job shows ACCEPTED until the window ends."""
        booked: dict[str, str] = dict((record.detail or {}).get("disputes_won") or {})
        resolved = self._resolved_for_us(record)
        txs = {e.tx_hash for e in resolved if str(e.dispute_id) not in booked}
        if not txs:
            return False
        # a ledger row per (task, kind, tx): disputes settled in one transaction add up
        new = [self._won(e) for e in resolved if e.tx_hash in txs]
        for tx_hash in txs:
            paid = sum(w.amount for w in new if w.tx_hash == tx_hash)
            self._add_ledger(record.task_id, LedgerKind.REWARD, paid, tx_hash)
        new = [w for w in new if str(w.dispute_id) not in booked]
        booked.update({str(w.dispute_id): str(w.amount) for w in new})
        ours_open = task.worker == self.account and task.status == TaskStatusV2.SUBMITTED
        contested = task.open_disputes > 0 or task.pending_challenges > 0
        upheld = ours_open and not contested and record.state in (WorkerState.COMMITTED, WorkerState.CHALLENGED)
        self._update(record.task_id, detail={"disputes_won": booked},
                     **({"state": WorkerState.ACCEPTED} if upheld else {}))
        for won in new:
            message = (f"task {record.task_id}: the jury upheld our result in dispute {won.dispute_id}; "
                       f"won {format_eth(won.amount, digits=6)} ETH")
            self._emit(Kind.NOTICE, message, record.task_id, tx_hash=won.tx_hash, amount=str(won.amount))
            self._job_event(record.task_id, WorkerState.ACCEPTED if upheld else WorkerState(record.state), message,
                            tx_hash=won.tx_hash)
        self._earnings_changed()
        return True

    def _resolved_for_us(self, record: JobRecord) -> list[DisputeResolved]:
        """Every dispute on our result the jury decided for us, oldest first."""
        start = int((record.detail or {}).get("commit_block", 0))
        end = self._result_end(record.task_id, start)
        return [e for e in self._task_events(DisputeResolved, record.task_id, start)
                if e.outcome == DisputeStatus.WORKER_WON and (end is None or not _after(e, end))]

    def _won(self, event: DisputeResolved) -> DisputeWon:
        """What a dispute decided for us paid (the challenger's bond, less the jurors' shares,
        plus that resolve's fines: :func:`engine.chain.market_v2.winner_payout`)."""
        return DisputeWon(event.dispute_id, winner_payout(self.market, event), event.tx_hash)

    def _result_end(self, task_id: int, start: int) -> TaskReopened | None:
        """The reopening that ended our result (the first after its commit), if any."""
        reopened = self._task_events(TaskReopened, task_id, start)
        return reopened[0] if reopened else None

    def _void_refund(self, record: JobRecord) -> DisputeResolved | None:
        """The void dispute that gave our stake back and reopened the task, if that is what ended
        our result (a dispute made void by another one's "cheat" verdict gives the worker nothing)."""
        start = int((record.detail or {}).get("commit_block", 0))
        end = self._result_end(record.task_id, start)
        if end is None:
            return None
        return next((e for e in self._task_events(DisputeResolved, record.task_id, start)
                     if e.outcome == DisputeStatus.VOID and e.tx_hash == end.tx_hash), None)

    def _ended_void(self, record: JobRecord, resolved: DisputeResolved) -> bool:
        """No jury decided (``maxDraws`` spent): the stake locked at the claim is credited back
        (returned, not earned) and the task reopened; there is no reward."""
        stake = int(record.stake or 0)
        self._add_ledger(record.task_id, LedgerKind.STAKE_RETURNED, stake, resolved.tx_hash)
        self._update(record.task_id, state=WorkerState.VOID, outcome=WorkerState.VOID, finished_at=time.time())
        message = (f"task {record.task_id}: dispute {resolved.dispute_id} was void (no jury reached a verdict); "
                   f"stake of {format_eth(stake, digits=6)} ETH returned, no reward, the task reopened")
        self._emit(Kind.NOTICE, message, record.task_id, tx_hash=resolved.tx_hash, stake=str(stake))
        self._job_event(record.task_id, WorkerState.VOID, message, tx_hash=resolved.tx_hash)
        self._earnings_changed()
        return True


def _after(event: MarketEvent, end: MarketEvent) -> bool:
    return (event.block_number, event.log_index) > (end.block_number, end.log_index)
