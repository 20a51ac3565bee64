"""Disputes and juries: draw a jury, commit and reveal a vote after replaying the segment, resolve."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from engine.chain.errors import ContractRevert
from engine.chain.market import Dispute, DisputeResolved, JuryDrawn, TaskMarket, TaskStatus
from engine.events import Kind
from engine.storage.errors import StorageError
from engine.units import format_eth
from engine.verifier.auditor import Auditor
from engine.verifier.ballot import Ballots
from engine.verifier.evidence import CannotJudgeHere, ReplayFailed
from engine.verifier.states import RETRY_S, ROLE, VerifierState


class Jury(Auditor, Ballots[TaskMarket]):
    """Jury duty has deadlines, so it comes before audits in every turn."""

    def _draw_juries(self) -> bool:
        busy = False
        for task_id in sorted(self._cursor.disputes):
            dispute = self.market.get_dispute(task_id)
            task = self.market.get_task(task_id)
            if dispute is None or task.status != TaskStatus.CHALLENGED:
                self._cursor.disputes.discard(task_id)
                self._cursor.save()
                continue
            if dispute.commit_deadline != 0:
                continue
            head = self.market.clock.block_number()
            if head <= dispute.draw_block:
                if self.config.mine_for_seed:
                    self.market.clock.mine(dispute.draw_block + 1 - head)
                else:
                    continue
            try:
                self._send(self.market.draw_jury(task_id), task_id, "drawJury")
            except ContractRevert as e:
                if e.reason not in ("jury drawn", "not challenged"):
                    raise
                continue
            self._emit(Kind.LOG, "drew the dispute's jury", task_id)
            busy = True
        return busy

    def _on_drawn(self, event: JuryDrawn) -> None:
        job = self._job(event.task_id)
        detail = dict(job.detail) if job is not None else {}
        if detail.get("jury", {}).get("dispute_id") == event.dispute_id:
            return
        detail["jury"] = {"dispute_id": event.dispute_id, "commit_deadline": event.commit_deadline,
                          "reveal_deadline": event.reveal_deadline, "vote": None, "salt": None}
        self.history.upsert_job(self.chain_id, self.market.address, event.task_id, ROLE, state=VerifierState.JUROR,
                                detail=detail)
        self._cursor.disputes.add(event.task_id)
        self._cursor.save()
        self._emit(Kind.NOTICE, f"drawn as a juror (dispute {event.dispute_id}); votes until "
                                f"{time.strftime('%H:%M:%S', time.gmtime(event.commit_deadline))} UTC",
                   event.task_id, {"state": VerifierState.JUROR})

    def _jury_duties(self) -> bool:
        busy = False
        now = self._now()
        for job in self._jobs(VerifierState.JUROR):
            jury = dict(job.detail["jury"])
            dispute = self.market.get_dispute(job.task_id)
            task = self.market.get_task(job.task_id)
            if dispute is None or task.status != TaskStatus.CHALLENGED or task.dispute_id != jury["dispute_id"]:
                continue  # resolved: DisputeResolved settles the job
            if jury.get("abstained"):
                continue  # said once; no replay here can ever judge it
            vote = self.market.vote_of(job.task_id, self.address)
            if now <= dispute.commit_deadline and vote.commitment == bytes(32):
                if self._retry_at.get(job.task_id, 0) > time.time():
                    continue
                try:
                    busy |= self._commit_vote(job.task_id, jury, dispute)
                except CannotJudgeHere as e:
                    self._abstain(job.task_id, jury, e, partial(self._keep_jury, job.task_id))
                except (StorageError, ReplayFailed) as e:
                    self._retry_at[job.task_id] = time.time() + RETRY_S
                    self._emit(Kind.LOG, f"cannot judge the dispute yet, retrying: {e.message}", job.task_id)
            elif dispute.commit_deadline < now <= dispute.reveal_deadline and vote.commitment != bytes(32) \
                    and vote.reveal == 0 and self._retry_at.get(job.task_id, 0) <= time.time():
                busy |= self._reveal_vote(job.task_id, jury, vote.commitment)
        return busy

    def _commit_vote(self, task_id: int, jury: dict[str, Any], dispute: Dispute) -> bool:
        commitment = self._seal(task_id, jury, dispute.segment, partial(self._keep_jury, task_id))
        receipt = self._send(self.market.commit_vote(task_id, commitment), task_id, "commitVote")
        self._said_committed(task_id, jury, dispute.segment, receipt)
        return True

    def _keep_jury(self, task_id: int, ballot: dict[str, Any]) -> None:
        self._update(task_id, jury=ballot)

    def _reveal_vote(self, task_id: int, jury: dict[str, Any], commitment: bytes) -> bool:
        salt = self._opening(task_id, jury, commitment)
        if salt is None:
            self._retry_at[task_id] = float("inf")  # said once; nothing will change that
            return False
        receipt = self._send(self.market.reveal_vote(task_id, jury["vote"], salt), task_id, "revealVote")
        self._said_revealed(task_id, jury, receipt)
        return True

    def _resolve_due(self) -> bool:
        busy = False
        now = self._now()
        for task_id in sorted(self._cursor.disputes):
            dispute = self.market.get_dispute(task_id)
            if dispute is None or dispute.commit_deadline == 0 or now <= dispute.reveal_deadline:
                continue
            if self.market.get_task(task_id).status != TaskStatus.CHALLENGED:
                continue
            try:
                self._send(self.market.resolve(task_id), task_id, "resolve")
            except ContractRevert as e:
                if e.reason != "not challenged":
                    raise
                continue
            self._emit(Kind.LOG, "resolved the dispute", task_id)
            busy = True
        return busy

    def _on_resolved(self, event: DisputeResolved) -> None:
        self._cursor.disputes.discard(event.task_id)
        self._cursor.save()
        job = self._job(event.task_id)
        if job is None:
            return
        outcome = "worker honest" if event.worker_won else "worker cheated"
        votes = f"{event.honest_votes} honest, {event.cheat_votes} cheated"
        challenge = job.detail.get("challenge") or {}
        if challenge.get("dispute_id") == event.dispute_id:
            self._settle_challenge(event, challenge, outcome, votes)
        jury = job.detail.get("jury") or {}
        if jury.get("dispute_id") == event.dispute_id:
            self._settle_jury(event, jury, outcome, votes)

    def _settle_challenge(self, event: DisputeResolved, challenge: dict[str, Any], outcome: str, votes: str) -> None:
        bond = challenge["bond"]
        if event.worker_won:
            self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "slashed", bond,
                                    tx_hash=event.tx_hash)
            self._update(event.task_id, state=VerifierState.RESOLVED, outcome=f"challenge lost ({votes})",
                         finished_at=time.time())
            self._emit(Kind.NOTICE, f"challenge lost ({votes}): bond of {format_eth(bond, digits=6)} ETH slashed",
                       event.task_id, {"state": VerifierState.RESOLVED})
            return
        payout = event.slashed + self._penalties.pop(event.tx_hash, 0) - event.juror_share * event.cheat_votes
        self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "bond_returned", bond,
                                tx_hash=event.tx_hash)
        self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "reward", payout,
                                tx_hash=event.tx_hash)
        self._update(event.task_id, state=VerifierState.RESOLVED, outcome=f"challenge won ({votes})",
                     finished_at=time.time())
        won = format_eth(payout, digits=6)
        self._emit(Kind.NOTICE, f"challenge won ({votes}): bond back and {won} ETH of the worker's stake",
                   event.task_id, {"state": VerifierState.RESOLVED})

    def _settle_jury(self, event: DisputeResolved, jury: dict[str, Any], outcome: str, votes: str) -> None:
        reveal = self.market.vote_of(event.task_id, self.address).reveal
        with_majority = reveal != 0 and (reveal == 1) == event.worker_won
        if with_majority and event.juror_share > 0:
            self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "juror_reward",
                                    event.juror_share, tx_hash=event.tx_hash)
        earned = f"earned {format_eth(event.juror_share, digits=6)} ETH" if with_majority else "earned nothing"
        self._update(event.task_id, state=VerifierState.RESOLVED, outcome=f"jury: {outcome} ({votes})",
                     finished_at=time.time())
        self._emit(Kind.NOTICE, f"dispute resolved: {outcome} ({votes}); as a juror {earned}", event.task_id,
                   {"state": VerifierState.RESOLVED})
