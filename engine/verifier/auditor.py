"""Audits: sample segments of a committed result, replay them, challenge one that does not hold up.

The samples come from the hash of the block after the commit (:mod:`engine.verifier.audit`),
so a worker cannot know them when it commits; the rules of a segment check are in
:mod:`engine.verifier.evidence`.
"""

from __future__ import annotations

import time
from typing import Any

from engine.chain.errors import ContractRevert
from engine.chain.market import ResultSubmitted, Task, TaskStatus
from engine.events import Kind
from engine.history.records import JobRecord
from engine.storage.errors import StorageError
from engine.units import format_eth
from engine.verifier.audit import AuditError, audit_seed, plan_samples, sample_segments
from engine.verifier.base import BlockNotYet, tx_hash
from engine.verifier.evidence import (
    Commitment,
    ReplayFailed,
    Result,
    SegmentCheck,
    UnverifiableResult,
    check_segment,
    fetch_result,
)
from engine.verifier.stake import Stake
from engine.verifier.states import RETRY_S, ROLE, VerifierOptionError, VerifierState


class Auditor(Stake):
    """One audit step at a time: the slow part (a replay) runs when no jury duty is due."""

    def _on_result(self, event: ResultSubmitted) -> None:
        if event.worker == self.address:
            return  # a verifier cannot challenge its own result
        audit = {"commit_block": event.block_number, "worker": event.worker, "root": "0x" + event.merkle_root.hex(),
                 "num_leaves": event.num_leaves, "result_uri": event.result_uri,
                 "deadline": event.challenge_deadline, "samples": None, "checked": {}}
        job = self._job(event.task_id)
        detail = dict(job.detail) if job is not None else {}
        seen = detail.get("audit", {})
        if seen.get("root") == audit["root"] and seen.get("commit_block") == event.block_number:
            return  # seen before a restart
        detail["audit"] = audit
        self.history.upsert_job(self.chain_id, self.market.address, event.task_id, ROLE, state=VerifierState.AUDITING,
                                outcome=None, merkle_root=audit["root"], detail=detail, started_at=time.time())
        self._emit(Kind.JOB, f"result committed by {event.worker} ({event.num_leaves} checkpoints): auditing",
                   event.task_id, {"state": VerifierState.AUDITING})

    def _audit_one(self) -> bool:
        now = time.time()
        for job in self._jobs(VerifierState.AUDITING):
            if self._retry_at.get(job.task_id, 0) > now:
                continue
            try:
                return self._audit_step(job)
            except BlockNotYet:
                continue
            except UnverifiableResult as e:
                self._update(job.task_id, state=VerifierState.UNVERIFIABLE, outcome=e.message)
                self._emit(Kind.NOTICE, f"cannot audit: {e.message} (so no challenge is possible)", job.task_id,
                           {"state": VerifierState.UNVERIFIABLE})
                return True
            except (StorageError, ReplayFailed) as e:
                self._retry_at[job.task_id] = now + RETRY_S
                self._emit(Kind.LOG, f"audit paused, retrying in {RETRY_S:.0f} s: {e.message}", job.task_id)
                return True
        return False

    def _audit_step(self, job: JobRecord) -> bool:
        task_id, audit = job.task_id, dict(job.detail["audit"])
        task = self.market.get_task(task_id)
        if task.status != TaskStatus.SUBMITTED or "0x" + task.merkle_root.hex() != audit["root"]:
            self._update(task_id, state=VerifierState.MISSED, outcome=f"the task is {task.status.name.lower()} now")
            return True
        if self._now() > task.deadline:
            self._update(task_id, state=VerifierState.MISSED,
                         outcome="the challenge window closed before the audit ended")
            self._emit(Kind.LOG, "challenge window closed before the audit ended", task_id)
            return True
        commitment = Commitment(task_id, task.merkle_root, task.num_leaves, audit["result_uri"],
                                self._spec_hash(task_id))
        result = fetch_result(self.store, commitment)
        if result.segments < 1:
            raise UnverifiableResult("a result of one checkpoint has no segment to replay or challenge")
        if audit["samples"] is None:
            audit["samples"], audit["plan"] = self._sample(task, audit, result)
            self._update(task_id, spec_sha256=commitment.spec_hash.hex(), name=result.checked.spec.name,
                         steps=result.checked.spec.steps, reward=task.reward, stake=task.worker_stake,
                         audit=audit)
            self._emit(Kind.JOB, f"sampling {audit['plan']}: segments {audit['samples']}", task_id,
                       {"state": VerifierState.AUDITING, "samples": audit["samples"]})
            return True
        todo = [i for i in audit["samples"] if str(i) not in audit["checked"]]
        if not todo:
            self._update(task_id, state=VerifierState.PASSED, outcome="honest", finished_at=time.time())
            self._emit(Kind.JOB, f"all {len(audit['samples'])} sampled segments replayed right: not challenged",
                       task_id, {"state": VerifierState.PASSED})
            return True
        check = check_segment(result, todo[0], self.store, self.work_dir, device=self.config.device,
                              timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process)
        audit["checked"][str(check.segment)] = check.verdict.value
        self._update(task_id, audit=audit, steps_done=len(audit["checked"]))
        self._emit(Kind.JOB, f"segment {check.segment}: {check.verdict.value}: {check.detail}", task_id,
                   {"state": VerifierState.AUDITING, "segment": check.segment, "verdict": check.verdict.value})
        if not check.verdict.worker_honest:
            self._challenge(result, check)
        return True

    def _sample(self, task: Task, audit: dict[str, Any], result: Result) -> tuple[list[int], str]:
        seed_block = audit["commit_block"] + 1
        block_hash = self._block_hash(seed_block)
        try:
            plan = plan_samples(result.segments, task.reward, task.worker_stake, detection=self.config.detection,
                                faked_fraction=self.config.faked_fraction, fixed=self.config.samples)
        except AuditError as e:
            raise VerifierOptionError(e.message, hint=e.hint) from None
        seed = audit_seed(block_hash, task.task_id, self.address)
        return sample_segments(seed, result.segments, plan.k), plan.describe()

    def _block_hash(self, number: int) -> bytes:
        """The hash of block ``number``, waiting for it (on a devnet with ``mine_for_seed``: mining it)."""
        while True:
            head = self.market.clock.block_number()
            if head >= number:
                return self.market.clock.block_hash(number)
            if not self.config.mine_for_seed:
                raise BlockNotYet(f"waiting for block {number}, whose hash seeds the samples")
            self.market.clock.mine(number - head)

    def _challenge(self, result: Result, check: SegmentCheck) -> None:
        task_id = result.commitment.task_id
        bond = self.market.challenge_bond(task_id)
        challenge = {"segment": check.segment, "verdict": check.verdict.value, "reason": check.detail, "bond": bond}
        self._update(task_id, state=VerifierState.CHALLENGED, outcome=check.detail, challenge=challenge)
        call = self.market.challenge(task_id, check.segment, check.leaf_a, check.proof_a, check.leaf_b,
                                     check.proof_b, bond=bond)
        try:
            receipt = self._send(call, task_id, "challenge")
        except ContractRevert as e:
            self._update(task_id, state=VerifierState.MISSED, outcome=f"challenge refused: {e.reason}")
            self._emit(Kind.LOG, f"challenge refused by the market: {e.reason}", task_id)
            return
        dispute = self.market.get_dispute(task_id)
        challenge["dispute_id"] = self.market.get_task(task_id).dispute_id
        self._update(task_id, challenge=challenge)
        self._cursor.disputes.add(task_id)
        self._cursor.save()
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond", bond, tx_hash=tx_hash(receipt))
        bond_eth = format_eth(bond, digits=6)
        self._emit(Kind.NOTICE, f"challenged segment {check.segment} with a bond of {bond_eth} ETH: {check.detail}",
                   task_id, {"state": VerifierState.CHALLENGED, "tx_hash": tx_hash(receipt),
                             "draw_block": dispute.draw_block if dispute else None})
