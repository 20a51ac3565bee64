"""Jury duty on TaskMarket v2: disputes by id, draws from the epoch's stake snapshot, redraws,
wrong-vote fines.

:class:`engine.verifier.verifier_v2.VerifierV2` offers every market event to
:meth:`JuryV2._on_jury_event` first and calls :meth:`JuryV2._jury_turn` before its audits.

- Every dispute this verifier hears of (``Challenged``, ``JuryDrawDeferred``, ``JuryDrawn``,
  ``JuryRedrawn``) is watched by id in ``self._cursor.disputes`` until it is no longer open: its
  jury is drawn when the draw block has come, and it is resolved when due (anyone may do both).
- A ``JuryDrawn`` that names this verifier is a duty, kept in the job's history record as
  ``detail["juries"][str(dispute id)]`` (a :mod:`engine.verifier.ballot` ballot plus the draw's
  block and deadlines): several disputes of one result may run at once. The duty is the current
  draw's while the chain's commit deadline is the one drawn; a redraw that names it again makes
  a new duty, with the verdict it reached kept and a new salt.
- The end of a draw (``JuryRedrawn`` or ``DisputeResolved``) is booked by
  :class:`engine.verifier.settle_v2.JurySettlementV2`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial

from web3.types import TxReceipt

from engine.chain.contract import ContractCall
from engine.chain.errors import ContractRevert
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records import Challenged, JuryDrawDeferred, JuryDrawn, MarketEvent, Reveal
from engine.chain.records_v2 import (
    DisputeResolved,
    DisputeStatus,
    DisputeV2,
    JuryRedrawn,
    TaskStatusV2,
    VoteCommitted,
    VoteRevealed,
)
from engine.events import Kind, Listener, ignore
from engine.history import History
from engine.storage.errors import StorageError
from engine.storage.store import BlobStore
from engine.verifier.answers import answered_blobs
from engine.verifier.ballot import Ballot, Ballots
from engine.verifier.evidence import CannotJudgeHere, ReplayFailed
from engine.verifier.settle_v2 import JURY_MAY_TAKE, JurySettlementV2
from engine.verifier.states import RETRY_S, VerifierConfig, VerifierState

EMPTY = bytes(32)
# what another verifier doing the same work first makes the call revert with
DRAW_RACES = ("jury drawn", "not open")        # drawn, or resolved, by someone else
RESOLVE_RACES = ("not open", "no jury")        # resolved (for good, or into a redraw) by someone else


class JuryV2(JurySettlementV2, Ballots[TaskMarketV2]):
    """Jury duty has deadlines, so the verifier's turn runs it before audits."""

    def __init__(self, market: TaskMarketV2, store: BlobStore, history: History, *,
                 config: VerifierConfig | None = None, listener: Listener = ignore) -> None:
        super().__init__(market, store, history, config=config, listener=listener)
        self._vote_retry_at: dict[int, float] = {}  # by dispute id (task ids would collide)

    # ------------------------------------------------------------ events

    def _on_jury_event(self, event: MarketEvent) -> bool:
        """Take in a market event about disputes or juries; True when it was the jury's alone.

        ``Challenged`` (audits learn of it too), ``JurorPenalized`` and ``DisputeResolved``
        (a challenger settles its bond on it) are taken in and still answered False."""
        if isinstance(event, Challenged):
            self._watch(event.dispute_id)
            return False
        if isinstance(event, (JuryDrawDeferred, JuryDrawn, JuryRedrawn)):
            self._watch(event.dispute_id)
            if isinstance(event, JuryDrawn) and self.address in event.jury:
                self._on_drawn(event)
            elif isinstance(event, JuryRedrawn):
                self._settle_draw(event)
            return True
        if isinstance(event, DisputeResolved):
            self._cursor.disputes.discard(event.dispute_id)
            self._cursor.save()
            self._settle_draw(event)
            return False
        return isinstance(event, (VoteCommitted, VoteRevealed))

    def _watch(self, dispute_id: int) -> None:
        if dispute_id not in self._cursor.disputes:
            self._cursor.disputes.add(dispute_id)
            self._cursor.save()

    def _on_drawn(self, event: JuryDrawn) -> None:
        before = self._duty(event.task_id, event.dispute_id) or {}
        if before.get("commit_deadline") == event.commit_deadline:
            return  # seen before a restart
        duty: Ballot = {"dispute_id": event.dispute_id, "drawn_block": event.block_number, "jury": list(event.jury),
                        "commit_deadline": event.commit_deadline, "reveal_deadline": event.reveal_deadline,
                        "vote": None, "why": None, "salt": None}
        for kept in ("vote", "why", "abstained"):  # a redraw: the same segment, judged already
            if before.get(kept) is not None:
                duty[kept] = before[kept]
        job = self._job(event.task_id)
        take = job is None or job.state in JURY_MAY_TAKE
        self._keep_duty(event.task_id, duty, **({"state": VerifierState.JUROR} if take else {}))
        until = time.strftime("%H:%M:%S", time.gmtime(event.commit_deadline))
        self._emit(Kind.NOTICE, f"drawn as a juror (dispute {event.dispute_id}); votes until {until} UTC",
                   event.task_id, {"state": VerifierState.JUROR})

    # ------------------------------------------------------------ the turn

    def _jury_turn(self) -> bool:
        """Draw juries that are due, commit and reveal votes, resolve disputes that are due;
        True when it did something."""
        busy = False
        for dispute_id in sorted(self._cursor.disputes):
            dispute = self.market.get_dispute(dispute_id)
            if dispute is None or dispute.status is not DisputeStatus.OPEN:
                self._cursor.disputes.discard(dispute_id)  # settled: DisputeResolved books it
                self._cursor.save()
                continue
            busy |= self._advance(dispute)
        return busy

    def _advance(self, dispute: DisputeV2) -> bool:
        task = self.market.get_task(dispute.task_id)
        if task.status is not TaskStatusV2.SUBMITTED or task.submit_block != dispute.round:
            return self._resolve(dispute, "void: the result it disputes was replaced")
        if dispute.commit_deadline == 0:
            return self._draw(dispute)
        now = self._now()
        if now > dispute.reveal_deadline:
            return self._resolve(dispute, "resolved")
        return self._serve(dispute, now)

    def _draw(self, dispute: DisputeV2) -> bool:
        head = self.market.clock.block_number()
        if head <= dispute.draw_block:
            if not self.config.mine_for_seed:
                return False
            self.market.clock.mine(dispute.draw_block + 1 - head)
        try:
            receipt = self._send(self.market.draw_jury(dispute.dispute_id), dispute.task_id, "drawJury")
        except ContractRevert as e:
            if e.reason not in DRAW_RACES:
                raise
            return False
        deferred = [e for e in self.market.events_in(receipt) if isinstance(e, JuryDrawDeferred)]
        said = (f"the draw of dispute {dispute.dispute_id}'s jury moved to block {deferred[0].draw_block} (a new "
                "epoch began, or its seed block is out of reach)" if deferred
                else f"drew the jury of dispute {dispute.dispute_id}")
        self._emit(Kind.LOG, said, dispute.task_id)
        return True

    def _resolve(self, dispute: DisputeV2, what: str) -> bool:
        try:
            self._send(self.market.resolve(dispute.dispute_id), dispute.task_id, "resolve")
        except ContractRevert as e:
            if e.reason not in RESOLVE_RACES:
                raise
            return False
        self._emit(Kind.LOG, f"dispute {dispute.dispute_id} {what}", dispute.task_id)
        return True

    # ------------------------------------------------------------ the vote

    def _answered(self, task_id: int) -> Mapping[int, str]:
        """A checkpoint the worker answered a data demand for is judged from the answer's blob
        address, as its demander judged it before challenging."""
        return answered_blobs(self.market, task_id, self.market.get_task(task_id).submit_block)

    def _serve(self, dispute: DisputeV2, now: int) -> bool:
        duty = self._duty(dispute.task_id, dispute.dispute_id)
        if duty is None or duty["commit_deadline"] != dispute.commit_deadline:
            return False  # not on this draw's jury
        if duty.get("abstained") or duty.get("unopenable"):
            return False  # said once; nothing will change that in this draw
        if self._vote_retry_at.get(dispute.dispute_id, 0) > time.time():
            return False
        vote = self.market.vote_of(dispute.dispute_id, self.address)
        if now <= dispute.commit_deadline:
            return vote.commitment == EMPTY and self._commit(dispute, duty)
        if vote.commitment != EMPTY and vote.reveal is Reveal.NONE:
            return self._reveal(dispute, duty, vote.commitment)
        return False

    def _commit(self, dispute: DisputeV2, duty: Ballot) -> bool:
        keep = partial(self._keep_duty, dispute.task_id)
        try:
            commitment = self._seal(dispute.task_id, duty, dispute.segment, keep)
        except CannotJudgeHere as e:
            self._abstain(dispute.task_id, duty, e, keep)
            return False
        except (StorageError, ReplayFailed) as e:
            self._vote_retry_at[dispute.dispute_id] = time.time() + RETRY_S
            self._emit(Kind.LOG, f"cannot judge dispute {dispute.dispute_id} yet, retrying: {e.message}",
                       dispute.task_id)
            return False
        call = self.market.commit_vote(dispute.dispute_id, commitment)
        receipt = self._send_in_period(call, dispute, "commitVote", "commit closed")
        if receipt is not None:
            self._said_committed(dispute.task_id, duty, dispute.segment, receipt)
        return receipt is not None

    def _reveal(self, dispute: DisputeV2, duty: Ballot, commitment: bytes) -> bool:
        salt = self._opening(dispute.task_id, duty, commitment)
        if salt is None:
            duty["unopenable"] = True
            self._keep_duty(dispute.task_id, duty)
            return False
        call = self.market.reveal_vote(dispute.dispute_id, duty["vote"], salt)
        receipt = self._send_in_period(call, dispute, "revealVote", "reveal closed")
        if receipt is not None:
            self._said_revealed(dispute.task_id, duty, receipt)
        return receipt is not None

    def _send_in_period(self, call: ContractCall, dispute: DisputeV2, action: str, closed: str) -> TxReceipt | None:
        """Send a vote; None when its period ended before it was mined (the chain's next block can
        be later than the latest one that said it was open)."""
        try:
            return self._send(call, dispute.task_id, action)
        except ContractRevert as e:
            if e.reason != closed:
                raise
        self._emit(Kind.LOG, f"dispute {dispute.dispute_id}: {action} came too late ({closed}); the market fines "
                             "a drawn juror who does not reveal", dispute.task_id)
        return None
