"""Settlement: chain writes a crash left open, what each mined write means, and payouts.

Every chain write is journaled (:class:`engine.roles.txjournal.TxJournal`); after a crash or an
outage its open entries are reconciled here, and a transaction mined while the worker was
down is found by its event and booked as if it had been seen. The ledger rows (stake,
reward, stake returned, slashed, gas, withdrawn) are written here too.
"""

from __future__ import annotations

import time

from engine.chain.errors import ContractRevert, NonceConsumed
from engine.chain.market import (
    ClaimExpired,
    DisputeResolved,
    JurorPenalized,
    MarketEvent,
    ResultSubmitted,
    Task,
    TaskClaimed,
    TaskFinalized,
    Withdrawn,
)
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import DataAnswered, DisputeStatus, TaskV2
from engine.chain.records_v2 import DisputeResolved as DisputeResolvedV2
from engine.chain.records_v2 import ResultSubmitted as ResultSubmittedV2
from engine.chain.records_v2 import TaskClaimed as TaskClaimedV2
from engine.events import Kind
from engine.history.ledger import LedgerKind
from engine.history.records import JobRecord
from engine.roles.txjournal import Sent, sent
from engine.units import format_eth
from engine.worker.states import WorkerError, WorkerState
from engine.worker.upload import Uploads


class Settlement(Uploads):
    """Reconciles journaled writes and books what they earned or cost."""

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
        return self.market.withdraw().estimate_gas() * self.market.gas_price()

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
        if action == "withdraw":
            amount = sum(e.amount for e in events if isinstance(e, Withdrawn))
            self._add_ledger(None, LedgerKind.GAS, done.gas_paid, done.tx_hash)
            self._add_ledger(None, LedgerKind.WITHDRAWN, amount, done.tx_hash)
            self._emit(Kind.NOTICE, f"withdrew {format_eth(amount, digits=6)} ETH", None,
                       tx_hash=done.tx_hash, amount=str(amount))
            self._earnings_changed()
            return
        if task_id is None:  # claim, commit and finalize are journaled with their task
            raise WorkerError(f"a mined {action} transaction ({done.tx_hash}) names no task",
                              hint="this is a bug in idlegrid; please report it")
        self._record_tx(task_id, action, done)
        if action == "claim":
            record = self._record(task_id)
            self._add_ledger(task_id, LedgerKind.STAKE, int(record.stake or 0) if record else 0, done.tx_hash)
            self._update(task_id, state=WorkerState.CLAIMED, started_at=time.time())
            self._job_event(task_id, WorkerState.CLAIMED, f"claimed task {task_id}", tx_hash=done.tx_hash)
            self._handled.add(task_id)
        elif action == "commit":
            detail = {"commit_block": int(done.receipt["blockNumber"])}
            window_end = self._window_end(events)
            if window_end is not None:
                detail["window_end"] = window_end
            self._update(task_id, state=WorkerState.COMMITTED, detail=detail)
            self._job_event(task_id, WorkerState.COMMITTED, f"committed task {task_id}'s result; challenge window open",
                            tx_hash=done.tx_hash)
        elif action == "finalize":
            finalized = next((e for e in events if isinstance(e, TaskFinalized)), None)
            self._paid(task_id, done.tx_hash, finalized.payout if finalized else None)
        elif action == "answer" and any(isinstance(e, DataAnswered) for e in events):
            # v2's answerData credits us the demander's bond, which is always minChallengeBond
            bond = self.market.params().min_challenge_bond
            self._add_ledger(task_id, LedgerKind.DEMAND_BOND, bond, done.tx_hash)
            self._earnings_changed()

    def _on_revert(self, action: str, task_id: int | None, e: ContractRevert) -> None:
        if action == "claim" and task_id is not None:
            self._update(task_id, state=WorkerState.LOST, outcome="lost_race", error=e.reason, finished_at=time.time())
            self._emit(Kind.LOG, f"task {task_id} went to another worker ({e.reason})", task_id)
        else:
            self._emit(Kind.LOG, f"{action} of task {task_id} reverted: {e.reason}", task_id)

    def _window_end(self, events: list[MarketEvent]) -> int | None:
        """The end of the challenge window a commit's receipt opened (v2's event leaves it out)."""
        for event in events:
            if isinstance(event, ResultSubmitted):
                return event.challenge_deadline
            if isinstance(event, ResultSubmittedV2) and isinstance(self.market, TaskMarketV2):
                return self.market.event_deadline(event)
        return None

    def _recover(self, task_id: int, action: str) -> None:
        """Book a claim or commit of ours that was mined while the worker was down (found by its event)."""
        name = "TaskClaimed" if action == "claim" else "ResultSubmitted"
        ours = [e for e in self._task_events(self.market.EVENT_TYPES[name], task_id, 0)
                if isinstance(e, _BY_WORKER) and e.worker == self.account]
        if not ours:
            return
        receipt = self.market.receipt(ours[-1].tx_hash)
        self._on_mined(action, task_id, sent(receipt))

    def _paid(self, task_id: int, tx_hash: str | None, payout: int | None) -> None:
        record = self._row(task_id)
        if record.state == WorkerState.PAID:
            return
        if tx_hash is None:  # finalized by someone else (or before a crash): find the transaction
            start = int((record.detail or {}).get("commit_block", 0))
            finalized = self._task_events(TaskFinalized, task_id, start)
            if finalized:
                tx_hash, payout = finalized[-1].tx_hash, finalized[-1].payout
                receipt = self.market.receipt(tx_hash)
                if receipt["from"] == self.account:  # ours, mined while the worker was down
                    self._record_tx(task_id, "finalize", sent(receipt))
        reward, stake = int(record.reward or 0), int(record.stake or 0)
        self._add_ledger(task_id, LedgerKind.REWARD, reward, tx_hash)
        self._add_ledger(task_id, LedgerKind.STAKE_RETURNED, stake, tx_hash)
        self._update(task_id, state=WorkerState.PAID, outcome="paid", finished_at=time.time())
        total = payout if payout is not None else reward + stake
        self._job_event(task_id, WorkerState.PAID, f"task {task_id} paid", tx_hash=tx_hash)
        earned = total - stake  # the stake coming back was the worker's own money: not earnings
        self._emit(Kind.NOTICE, f"task {task_id} paid: earned {format_eth(earned, digits=6)} ETH "
                   f"(and the {format_eth(stake, digits=6)} ETH stake back)", task_id,
                   reward=str(reward), stake=str(stake))
        self._earnings_changed()
        if self.config.auto_withdraw:
            self.withdraw()

    def _ended_unpaid(self, record: JobRecord, task: Task | TaskV2, state: WorkerState) -> bool:
        """Our claim ran out (WorkerState.EXPIRED) or a jury ruled against our result
        (WorkerState.SLASHED): the stake is lost."""
        stake = int(record.stake or 0)
        start = int((record.detail or {}).get("commit_block", 0))
        # a slash: the first after our commit (nothing later can take the stake of a result already
        # replaced); an expiry: the latest (the task may have expired under earlier workers)
        proof = (self._slash_events(record.task_id, start)[:1] if state == WorkerState.SLASHED
                 else self._task_events(ClaimExpired, record.task_id, start)[-1:])
        self._add_ledger(record.task_id, LedgerKind.SLASHED, stake, proof[0].tx_hash if proof else None)
        self._update(record.task_id, state=state, outcome=state, finished_at=time.time())
        if state == WorkerState.SLASHED:
            message = (f"task {record.task_id}: the jury ruled against our result; "
                       f"stake of {format_eth(stake, digits=6)} ETH slashed")
        else:
            message = f"task {record.task_id}: the training deadline passed before the result was committed; stake lost"
        self._emit(Kind.NOTICE, message, record.task_id, stake=str(stake))
        self._job_event(record.task_id, state, message)
        self._earnings_changed()
        return True

    def _slash_events(self, task_id: int, start: int) -> list[MarketEvent]:
        """What took our stake, oldest first: a dispute the challenger won, or (v2) a data demand
        left unanswered (DataFault)."""
        resolved = self._task_events(self.market.EVENT_TYPES["DisputeResolved"], task_id, start)
        lost: list[MarketEvent] = [e for e in resolved if _challenger_won(e)]
        fault = self.market.EVENT_TYPES.get("DataFault")
        if fault is not None:
            lost.extend(self._task_events(fault, task_id, start))
        return sorted(lost, key=lambda e: (e.block_number, e.log_index))

    def _dispute_won(self, record: JobRecord, task: Task | TaskV2) -> None:
        """Credit what winning the dispute paid us: the challenger's bond less the jurors' cut."""
        start = int((record.detail or {}).get("commit_block", 0))
        resolved = [e for e in self._task_events(DisputeResolved, record.task_id, start) if e.worker_won]
        if not resolved:
            return
        last = resolved[-1]
        penalties = sum(e.amount for e in self._task_events(JurorPenalized, record.task_id, start)
                        if e.tx_hash == last.tx_hash)
        won = last.slashed + penalties - last.juror_share * last.honest_votes
        self._add_ledger(record.task_id, LedgerKind.REWARD, won, last.tx_hash)
        self._update(record.task_id, state=WorkerState.ACCEPTED, detail={"dispute_won": str(won)})
        self._emit(Kind.NOTICE,
                   f"task {record.task_id}: the jury upheld our result; won {format_eth(won, digits=6)} ETH",
                   record.task_id)


# the events that name the worker, in either version (a claim, a commit)
_BY_WORKER = (TaskClaimed, TaskClaimedV2, ResultSubmitted, ResultSubmittedV2)


def _challenger_won(event: MarketEvent) -> bool:
    """A DisputeResolved, of either version, that the challenger won (the worker's stake went)."""
    if isinstance(event, DisputeResolvedV2):
        return event.outcome == DisputeStatus.CHALLENGER_WON
    return isinstance(event, DisputeResolved) and not event.worker_won
