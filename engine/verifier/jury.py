"""Disputes and juries: draw a jury, commit and reveal a vote after replaying the segment, resolve."""

from __future__ import annotations

import os
import time
from typing import Any

from engine.chain.errors import ContractRevert
from engine.chain.market import Dispute, DisputeResolved, JuryDrawn, TaskStatus, vote_commitment
from engine.events import Kind
from engine.storage.errors import StorageError
from engine.units import format_eth
from engine.verifier.auditor import Auditor
from engine.verifier.base import tx_hash
from engine.verifier.evidence import (
    CannotJudgeHere,
    Commitment,
    ReplayFailed,
    UnverifiableResult,
    Verdict,
    check_segment,
    fetch_result,
)
from engine.verifier.states import RETRY_S, ROLE, VerifierState


class Jury(Auditor):
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
                    self._abstain(job.task_id, jury, e)
                except (StorageError, ReplayFailed) as e:
                    self._retry_at[job.task_id] = time.time() + RETRY_S
                    self._emit(Kind.LOG, f"cannot judge the dispute yet, retrying: {e.message}", job.task_id)
            elif dispute.commit_deadline < now <= dispute.reveal_deadline and vote.commitment != bytes(32) \
                    and vote.reveal == 0 and self._retry_at.get(job.task_id, 0) <= time.time():
                busy |= self._reveal_vote(job.task_id, jury, vote.commitment)
        return busy

    def _commit_vote(self, task_id: int, jury: dict[str, Any], dispute: Dispute) -> bool:
        if jury.get("salt") is None:
            honest, why = self._judge(task_id, dispute.segment)
            jury.update(vote=honest, why=why, salt="0x" + os.urandom(32).hex())
            self._update(task_id, jury=jury)  # the salt is on disk before the commitment leaves
        salt = bytes.fromhex(jury["salt"][2:])
        commitment = vote_commitment(jury["vote"], salt, self.address)
        receipt = self._send(self.market.commit_vote(task_id, commitment), task_id, "commitVote")
        self._emit(Kind.JOB, f"committed a vote on segment {dispute.segment} (worker "
                             f"{'honest' if jury['vote'] else 'cheated'}: {jury['why']})",
                   task_id, {"state": VerifierState.JUROR, "tx_hash": tx_hash(receipt)})
        return True

    def _judge(self, task_id: int, segment: int) -> tuple[bool, str]:
        """Replay the disputed segment: True when the worker's commitment holds."""
        task = self.market.get_task(task_id)
        try:
            commitment = Commitment(task_id, task.merkle_root, task.num_leaves, self._result_uri(task_id),
                                    self._spec_hash(task_id))
            result = fetch_result(self.store, commitment)
        except CannotJudgeHere:
            raise  # not the worker's fault: the caller abstains
        except UnverifiableResult as e:
            return False, e.message
        if not 0 <= segment < result.segments:
            return False, f"segment {segment} is outside the result"
        check = check_segment(result, segment, self.store, self.work_dir, device=self.config.device,
                              timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process)
        return check.verdict is Verdict.HONEST, f"{check.verdict.value}: {check.detail}"

    def _abstain(self, task_id: int, jury: dict[str, Any], why: CannotJudgeHere) -> None:
        """An exact-mode spec naming other arithmetic than ours: only machines with that arithmetic
        may judge it (issue 14), so this juror votes neither way, and says so once instead of
        retrying a replay that can never run. The market still fines a drawn juror who does not
        reveal (v1 and v2 alike): the draw cannot know a juror's arithmetic, so that fine is
        the cost of a draw it cannot serve (see the README's caveat)."""
        jury["abstained"] = why.message
        self._update(task_id, jury=jury)
        self._emit(Kind.NOTICE, f"cannot judge this dispute here, abstaining: {why.message}", task_id,
                   {"state": VerifierState.JUROR, "hint": why.hint or ""})

    def _reveal_vote(self, task_id: int, jury: dict[str, Any], commitment: bytes) -> bool:
        salt = bytes.fromhex(jury["salt"][2:]) if jury.get("salt") else None
        if salt is None or vote_commitment(jury["vote"], salt, self.address) != commitment:
            self._retry_at[task_id] = float("inf")  # said once; nothing will change that
            self._emit(Kind.ERROR, "cannot reveal: the vote and salt kept in the history do not open the "
                                   "committed vote (was the history replaced?)", task_id,
                       {"hint": "the market will take the non-reveal penalty from the stake"})
            return False
        receipt = self._send(self.market.reveal_vote(task_id, jury["vote"], salt), task_id, "revealVote")
        self._emit(Kind.JOB, f"revealed the vote: worker {'honest' if jury['vote'] else 'cheated'}", task_id,
                   {"state": VerifierState.JUROR, "tx_hash": tx_hash(receipt)})
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
