"""Paid audits on TaskMarket v2: replay one segment chosen by a private salt, commit, reveal for the fee.

For every committed result (``ResultSubmitted``) the verifier picks a random salt, kept in the
job's history detail before anything is sent; the salt fixes the segment it replays
(:func:`engine.chain.market_v2.audit_segment`), so neither the worker nor a block producer can
know or move the sample. From the block after the submit it asks the market to draw the auditors
(``assignAuditors``: whoever calls first pays; the others read ``auditors(task)``). It replays the
segment (:func:`engine.verifier.evidence.check_segment`), and then:

- the segment holds up and we are assigned: ``commitAudit`` to the leaf at the segment's end
  (the committed leaf the replay reproduced, or came within the spec's tolerance of: the one
  that proves against the root); once the result is final (the verifier finalizes it when the
  window is over and nobody did), ``revealAudit`` with its proof, and the fee share is booked;
- the segment holds up and we are not assigned: nothing to do (unpaid audits still catch cheats);
- a checkpoint (or the manifest) cannot be had: a data demand (:mod:`.challenge_v2`); once the
  worker answered it, the checkpoint is fetched from the answer's blob address (:mod:`.answers`),
  and missing or wrong there it is challenged as bad data;
- the segment does not hold up: a challenge in two steps (:mod:`.challenge_v2`), settled by
  :meth:`AuditorV2._settle_challenge_v2` when its dispute is resolved.
"""

from __future__ import annotations

import os
import time
from typing import Any

from engine.chain.errors import ContractRevert
from engine.chain.market_v2 import audit_segment, winner_payout
from engine.chain.records_v2 import (
    AuditRevealed,
    DisputeResolved,
    DisputeStatus,
    ResultSubmitted,
    TaskStatusV2,
    TaskV2,
)
from engine.events import Kind
from engine.history import LedgerKind
from engine.storage.errors import StorageError
from engine.units import format_eth
from engine.verifier.answers import answered_blobs
from engine.verifier.base import BlockNotYet
from engine.verifier.challenge_v2 import ChallengerV2, _one
from engine.verifier.evidence import (
    Commitment,
    ManifestMissing,
    ReplayFailed,
    UnverifiableResult,
    check_segment,
    fetch_result,
)
from engine.verifier.states import RETRY_S, ROLE, AuditPhase, VerifierState

ACTIVE = (AuditPhase.REPLAY, AuditPhase.DEMAND, AuditPhase.COMMIT, AuditPhase.REVEAL, AuditPhase.CHALLENGE)
# a job's state while its audit may still be active (the jury's states included: one row per task)
LIVE_STATES = (VerifierState.AUDITING, VerifierState.CHALLENGED, VerifierState.JUROR, VerifierState.RESOLVED,
               VerifierState.WATCHING)


class AuditorV2(ChallengerV2):
    """One audit step at a time: the slow part (a replay) runs when no jury duty is due."""

    def _on_result_v2(self, event: ResultSubmitted) -> None:
        if event.worker == self.address:
            return  # a verifier cannot challenge (or audit) its own result
        root = "0x" + event.merkle_root.hex()
        job = self._job(event.task_id)
        detail = dict(job.detail) if job is not None else {}
        seen = detail.get("audit") or {}
        if seen.get("round") == event.block_number and seen.get("root") == root:
            return  # seen before a restart: keep its salt
        salt = os.urandom(32)
        segment = audit_segment(event.task_id, salt, event.num_leaves) if event.num_leaves > 1 else None
        detail["audit"] = {"round": event.block_number, "worker": event.worker, "root": root,
                           "num_leaves": event.num_leaves, "result_uri": event.result_uri,
                           "deadline": self.market.event_deadline(event), "salt": salt.hex(), "segment": segment,
                           "phase": AuditPhase.REPLAY, "assigned": None, "leaf": None, "proof": None,
                           "demand": None}
        self.history.upsert_job(self.chain_id, self.market.address, event.task_id, ROLE, state=VerifierState.AUDITING,
                                outcome=None, merkle_root=root, detail=detail, started_at=time.time())
        self._emit(Kind.JOB, f"result committed by {event.worker} ({event.num_leaves} checkpoints): auditing",
                   event.task_id, {"state": VerifierState.AUDITING})

    def _audit_one_v2(self) -> bool:
        now = time.time()
        for job in self.history.jobs(role=ROLE, chain_id=self.chain_id, market=self.market.address,
                                     states=LIVE_STATES):
            audit = dict(job.detail.get("audit") or {})
            if audit.get("phase") not in ACTIVE or self._retry_at.get(job.task_id, 0) > now:
                continue
            try:
                if self._audit_step_v2(job.task_id, audit):
                    return True
            except BlockNotYet:
                continue
            except UnverifiableResult as e:
                audit["phase"] = AuditPhase.DONE
                self._set(job.task_id, VerifierState.UNVERIFIABLE, e.message, audit=audit)
                self._emit(Kind.NOTICE, f"cannot audit: {e.message}", job.task_id,
                           {"state": VerifierState.UNVERIFIABLE})
                return True
            except (StorageError, ReplayFailed) as e:
                self._retry_at[job.task_id] = now + RETRY_S
                self._emit(Kind.LOG, f"audit paused, retrying in {RETRY_S:.0f} s: {e.message}", job.task_id)
                return True
        return False

    def _audit_step_v2(self, task_id: int, audit: dict[str, Any]) -> bool:
        phase = audit["phase"]
        # these may follow the window's end, and see the result replaced (a bond to take back)
        if phase == AuditPhase.DEMAND:
            return self._demand_step(task_id, audit)
        if phase == AuditPhase.CHALLENGE:
            return self._challenge_step(task_id, audit)
        task = self.market.get_task(task_id)
        if task.submit_block != audit["round"] or task.status not in (TaskStatusV2.SUBMITTED, TaskStatusV2.FINALIZED):
            return self._missed(task_id, audit, f"the result was replaced (the task is {task.status.name.lower()})")
        if phase == AuditPhase.REVEAL:
            return self._reveal_audit(task_id, audit, task)
        if task.status != TaskStatusV2.SUBMITTED or self._now() > task.deadline:
            return self._missed(task_id, audit, "the challenge window closed before the audit ended")
        if phase == AuditPhase.COMMIT:
            return self._commit_audit(task_id, audit)
        return self._replay(task_id, audit, task)

    def _replay(self, task_id: int, audit: dict[str, Any], task: TaskV2) -> bool:
        if audit["assigned"] is None:
            audit["assigned"] = self.address in self._assigned(task_id, audit["round"])
            self._update(task_id, audit=audit)
        demand = audit.get("demand") or {}
        commitment = Commitment(task_id, task.merkle_root, task.num_leaves, audit["result_uri"],
                                self._spec_hash(task_id))
        try:
            result = fetch_result(self.store, commitment)
        except ManifestMissing as e:
            if demand.get("answered") is not None or audit["segment"] is None:
                raise
            return self._start_demand(task_id, audit, audit["segment"] + 1,
                                      f"the result manifest is missing ({e.message})")
        if result.segments < 1:
            raise UnverifiableResult("a result of one checkpoint has no segment to replay or challenge")
        spec = result.checked.spec
        self._update(task_id, spec_sha256=commitment.spec_hash.hex(), name=spec.name, steps=spec.steps,
                     reward=task.reward, stake=task.worker_stake)
        answered = answered_blobs(self.market, task_id, audit["round"])
        check = check_segment(result, audit["segment"], self.store, self.work_dir, device=self.config.device,
                              timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process,
                              answered=answered)
        self._emit(Kind.JOB, f"segment {check.segment}: {check.verdict.value}: {check.detail}", task_id,
                   {"state": VerifierState.AUDITING, "segment": check.segment, "verdict": check.verdict.value})
        if check.missing is not None and check.missing not in answered:
            return self._start_demand(task_id, audit, check.missing, f"checkpoint {check.missing} cannot be had")
        # an answered checkpoint still missing (or wrong) where its answer put it is the worker's
        # fault like any bad data: challenged (the jurors fetch it from the same address)
        if not check.verdict.worker_honest:
            return self._start_challenge(task_id, audit, check)
        audit["leaf"], audit["proof"] = check.leaf_b.hex(), [p.hex() for p in check.proof_b]
        if not audit["assigned"]:
            audit["phase"] = AuditPhase.DONE
            self._set(task_id, VerifierState.PASSED, "honest", audit=audit, finished_at=time.time())
            self._emit(Kind.JOB, f"segment {check.segment} replayed right: not challenged (not assigned: no fee)",
                       task_id, {"state": VerifierState.PASSED})
            return True
        audit["phase"] = AuditPhase.COMMIT
        self._update(task_id, audit=audit)
        return self._commit_audit(task_id, audit)

    def _assigned(self, task_id: int, round_: int) -> tuple[str, ...]:
        """The auditors of this result, drawing them first where nobody did (from the block after
        the submit on; the market may move the draw to a later block)."""
        info = self.market.get_audit(task_id)
        if not (info.round == round_ and info.assigned):
            self._past_block(info.seed_block if info.round == round_ else round_ + 1, "the auditors' seed")
            try:
                self._send(self.market.assign_auditors(task_id), task_id, "assignAuditors")
            except ContractRevert as e:
                if e.reason != "assigned":  # drawn by someone else meanwhile
                    raise
            info = self.market.get_audit(task_id)
            if not info.assigned:
                raise BlockNotYet("the market moved the auditors' draw to a later block")
        return self.market.auditors(task_id)

    def _commit_audit(self, task_id: int, audit: dict[str, Any]) -> bool:
        call = self.market.commit_audit(task_id, bytes.fromhex(audit["leaf"]), bytes.fromhex(audit["salt"]))
        try:
            self._send(call, task_id, "commitAudit")
        except ContractRevert as e:
            if e.reason != "already committed":  # sent before a restart
                return self._missed(task_id, audit, f"audit commitment refused: {e.reason}")
        audit["phase"] = AuditPhase.REVEAL
        self._set(task_id, VerifierState.AUDITING, "committed; revealed when the result is final", audit=audit)
        self._emit(Kind.JOB, f"committed the audit of segment {audit['segment']}; revealed once the result is final",
                   task_id, {"state": VerifierState.AUDITING})
        return True

    def _reveal_audit(self, task_id: int, audit: dict[str, Any], task: TaskV2) -> bool:
        if task.status == TaskStatusV2.SUBMITTED:
            if self._now() <= task.deadline or task.open_disputes or task.pending_challenges:
                return False
            try:  # anyone may finalize: the fee needs a final result
                self._send(self.market.finalize(task_id), task_id, "finalize")
            except ContractRevert as e:
                if e.reason not in ("not submitted", "disputes open", "window open"):
                    raise
                return False
            self._emit(Kind.LOG, "the window is over: finalized the result to reveal the audit", task_id)
            return True
        call = self.market.reveal_audit(task_id, bytes.fromhex(audit["leaf"]),
                                        [bytes.fromhex(p) for p in audit["proof"]], bytes.fromhex(audit["salt"]))
        try:
            revealed = _one(self.market.events_in(self._send(call, task_id, "revealAudit")), AuditRevealed)
        except ContractRevert as e:
            found = self._mine(AuditRevealed, task_id, audit["round"], lambda x: x.auditor == self.address)
            if e.reason != "no commit" or found is None:  # else revealed before a restart
                return self._missed(task_id, audit, f"audit reveal refused: {e.reason}")
            revealed = found
        self.history.add_ledger(self.chain_id, self.market.address, task_id, LedgerKind.AUDIT_FEE, revealed.fee,
                                tx_hash=revealed.tx_hash)
        audit["phase"], audit["fee"] = AuditPhase.DONE, revealed.fee
        fee = format_eth(revealed.fee, digits=6)
        self._set(task_id, VerifierState.PASSED, f"honest; audit fee {fee} ETH", audit=audit, finished_at=time.time())
        self._emit(Kind.EARNINGS, f"revealed the audit of segment {revealed.segment}: paid {fee} ETH", task_id,
                   {"state": VerifierState.PASSED, "tx_hash": revealed.tx_hash, "fee": revealed.fee})
        return True

    def _missed(self, task_id: int, audit: dict[str, Any], why: str) -> bool:
        audit["phase"] = AuditPhase.DONE
        self._set(task_id, VerifierState.MISSED, why, audit=audit)
        self._emit(Kind.LOG, f"audit ended: {why}", task_id, {"state": VerifierState.MISSED})
        return True

    # ------------------------------------------------------------ settling our challenges

    def _settle_challenge_v2(self, event: DisputeResolved) -> None:
        """A dispute we opened was resolved: book the bond back and the winnings, or the bond lost."""
        job = self._job(event.task_id)
        challenge = (job.detail.get("challenge") or {}) if job is not None else {}
        if challenge.get("dispute_id") != event.dispute_id or challenge.get("settled"):
            return
        self._cursor.disputes.discard(event.dispute_id)
        self._cursor.save()
        bond, votes = challenge["bond"], f"{event.honest_votes} honest, {event.cheat_votes} cheated"
        ledger = self.history.add_ledger
        if event.outcome == DisputeStatus.WORKER_WON:
            ledger(self.chain_id, self.market.address, event.task_id, "slashed", bond, tx_hash=event.tx_hash)
            outcome = f"challenge lost ({votes}): bond of {format_eth(bond, digits=6)} ETH slashed"
        elif event.outcome == DisputeStatus.CHALLENGER_WON:
            payout = winner_payout(self.market, event)
            ledger(self.chain_id, self.market.address, event.task_id, "bond_returned", bond, tx_hash=event.tx_hash)
            ledger(self.chain_id, self.market.address, event.task_id, "reward", payout, tx_hash=event.tx_hash)
            outcome = f"challenge won ({votes}): bond back and {format_eth(payout, digits=6)} ETH of the worker's stake"
        else:
            ledger(self.chain_id, self.market.address, event.task_id, "bond_returned", bond, tx_hash=event.tx_hash)
            outcome = f"dispute void ({votes}): no jury decided, bond back"
        self._set(event.task_id, VerifierState.RESOLVED, outcome, challenge={**challenge, "settled": event.outcome},
                  finished_at=time.time())
        self._emit(Kind.NOTICE, outcome, event.task_id, {"state": VerifierState.RESOLVED,
                                                         "dispute_id": event.dispute_id})
