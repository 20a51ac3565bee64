"""The end of a TaskMarket v2 jury draw, as a juror of it books it: its ledger and its job.

A draw ends in the transaction that resolves it: a verdict (``DisputeResolved``, the worker or
the challenger won), no decision and a new draw (``JuryRedrawn``), or no decision for the last
time or a result replaced meanwhile (``DisputeResolved``, void). What each juror got is not all
in those events, so it is read back from the chain:

- fines are that transaction's ``JurorPenalized`` events (not revealing: nonRevealPenalty; a
  vote against a verdict: wrongVotePenalty), booked as ``fine`` with the transaction's hash;
- a verdict pays ``jurorShare`` (in the event) to each juror who voted with it (``juror_reward``);
- without a verdict, the draw's fines are shared by the jurors who revealed, ``fines // reveals``
  each (the contract sends the dust to the treasury), also ``juror_reward``. The reveals are the
  dispute's ``VoteRevealed`` events from the draw's block to the resolving one: a reveal cannot
  share a block with the resolve that ends its draw (one needs the reveal deadline ahead, the
  other past it), nor come before its own draw.

The ledger takes an entry once per (task, kind, transaction), so reading an event again after a
restart books nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.chain.market_v2 import TaskMarketV2, fines_in
from engine.chain.records import TaskReopened
from engine.chain.records_v2 import (
    DisputeResolved,
    DisputeStatus,
    JuryRedrawn,
    VoteRevealed,
)
from engine.events import Kind
from engine.history import LedgerKind
from engine.units import format_eth
from engine.verifier.ballot import Ballot
from engine.verifier.base import VerifierBase
from engine.verifier.states import ROLE, VerifierState

# the job states a jury duty may show itself in: no other concern of the verifier works on the job
JURY_MAY_TAKE = frozenset((VerifierState.WATCHING, VerifierState.JUROR, VerifierState.RESOLVED,
                           VerifierState.MISSED))
VERDICTS = (DisputeStatus.WORKER_WON, DisputeStatus.CHALLENGER_WON)


@dataclass(frozen=True)
class DrawEnd:
    """What the end of one draw gave this juror."""

    vote: bool | None   # its revealed vote (True: the worker was honest); None: it did not reveal
    reward: int
    fine: int
    outcome: str        # the job's outcome text

    def said(self) -> str:
        parts = [self.outcome]
        if self.reward:
            parts.append(f"as a juror earned {format_eth(self.reward, digits=6)} ETH")
        if self.fine:
            why = "for not revealing a vote" if self.vote is None else "for a vote against the outcome"
            parts.append(f"fined {format_eth(self.fine, digits=6)} ETH {why}")
        return "; ".join(parts)


class JurySettlementV2(VerifierBase[TaskMarketV2]):
    """Jury duties in the history (``detail["juries"]``, one per dispute id) and their settlement."""

    def _duties(self, task_id: int) -> dict[str, Ballot]:
        job = self._job(task_id)
        return dict(job.detail.get("juries") or {}) if job is not None else {}

    def _duty(self, task_id: int, dispute_id: int) -> Ballot | None:
        duty = self._duties(task_id).get(str(dispute_id))
        return dict(duty) if duty is not None else None

    def _keep_duty(self, task_id: int, duty: Ballot, **fields: Any) -> None:
        """Write one duty into the job's record (``fields``: the job's other columns)."""
        juries = self._duties(task_id)
        juries[str(duty["dispute_id"])] = duty
        self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, detail={"juries": juries},
                                **fields)

    def _settle_draw(self, event: JuryRedrawn | DisputeResolved) -> None:
        """Book this juror's part of the draw ``event`` ended (nothing if it was not on it)."""
        duty = self._duty(event.task_id, event.dispute_id)
        if duty is None or duty.get("settled") or duty["drawn_block"] > event.block_number:
            return
        end = self._draw_end(event, duty)
        for kind, amount in ((LedgerKind.FINE, end.fine), (LedgerKind.JUROR_REWARD, end.reward)):
            if amount:
                self.history.add_ledger(self.chain_id, self.market.address, event.task_id, kind, amount,
                                        tx_hash=event.tx_hash)
        duty.update(settled=event.tx_hash, outcome=end.outcome)
        job = self._job(event.task_id)
        others_open = any(not d.get("settled") for key, d in self._duties(event.task_id).items()
                          if key != str(event.dispute_id))
        if job is not None and job.state == VerifierState.JUROR and not others_open:
            self._keep_duty(event.task_id, duty, state=VerifierState.RESOLVED, outcome=end.outcome,
                            finished_at=time.time())
        else:
            self._keep_duty(event.task_id, duty)
        self._emit(Kind.NOTICE, f"dispute {event.dispute_id}: {end.said()}", event.task_id,
                   {"state": VerifierState.RESOLVED, "tx_hash": event.tx_hash})

    def _draw_end(self, event: JuryRedrawn | DisputeResolved, duty: Ballot) -> DrawEnd:
        done = self.market.events_in(self.market.receipt(event.tx_hash))
        fines = fines_in(done, event.dispute_id)
        reveals = [e for e in self.market.task_events(VoteRevealed, event.dispute_id, from_block=duty["drawn_block"])
                   if e.block_number <= event.block_number]
        vote = next((e.worker_honest for e in reveals if e.juror == self.address), None)
        honest = sum(e.worker_honest for e in reveals)
        votes = f"{honest} honest, {len(reveals) - honest} cheated"
        fine = fines.get(self.address, 0)
        if isinstance(event, DisputeResolved) and event.outcome in VERDICTS:
            worker_won = event.outcome == DisputeStatus.WORKER_WON
            reward = event.juror_share if vote is not None and vote == worker_won else 0
            return DrawEnd(vote, reward, fine, f"jury: worker {'honest' if worker_won else 'cheated'} ({votes})")
        reward = sum(fines.values()) // len(reveals) if vote is not None else 0
        if isinstance(event, JuryRedrawn):
            outcome = f"jury redrawn: {len(reveals)} of {len(duty['jury'])} revealed ({votes})"
        elif any(isinstance(e, TaskReopened) for e in done):
            draws = self.market.params().max_draws
            outcome = f"void: no decision in {draws} draws ({votes}); bond and stake returned"
        else:
            outcome = "void: the result it disputes was replaced"
        return DrawEnd(vote, reward, fine, outcome)
