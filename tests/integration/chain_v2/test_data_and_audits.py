"""TaskMarketV2's data demands and paid audits through the bindings on a real anvil."""

from __future__ import annotations

import hashlib

import pytest

from engine.chain.anvil import mine, time_travel
from engine.chain.errors import ContractRevert
from engine.chain.market_v2 import audit_segment
from engine.chain.records_v2 import (
    AuditClosed,
    AuditorsAssigned,
    AuditRevealed,
    DataAnswered,
    DataDemanded,
    DataFault,
    TaskStatusV2,
)
from tests.integration.chain_v2 import steps

BLOB = hashlib.sha256(b"the checkpoint's blob").digest()


def test_an_answered_data_demand_pays_the_worker_the_bond_and_the_result_finalizes(actors) -> None:
    requester, worker, demander = actors["requester"], actors["worker"], actors["demander"]
    tree = steps.checkpoint_tree()
    task_id = steps.submitted(requester, worker, tree)
    demand_id = steps.demand(demander, task_id, 3)
    (demanded,) = demander.task_events(DataDemanded, task_id)
    q = demander.get_demand(demand_id)
    bond = demander.params().min_challenge_bond
    assert q is not None
    assert (q.task_id, q.demander, q.bond, q.index, q.deadline) == (
        task_id, demander.sender.address, bond, 3, demanded.deadline)
    assert worker.get_task(task_id).open_disputes == 1
    with pytest.raises(ContractRevert, match="not worker"):
        demander.answer_data(demand_id, tree.leaves[3], BLOB, tree.proof(3)).send()
    with pytest.raises(ContractRevert, match="bad proof"):
        worker.answer_data(demand_id, tree.leaves[2], BLOB, tree.proof(3)).send()

    answered = steps.one(worker, worker.answer_data(demand_id, tree.leaves[3], BLOB, tree.proof(3)).send(),
                         DataAnswered)
    assert (answered.task_id, answered.demand_id, answered.index, answered.leaf, answered.blob) == (
        task_id, demand_id, 3, tree.leaves[3], BLOB)
    assert worker.credits(worker.sender.address) == bond
    with pytest.raises(ContractRevert, match="no demand"):
        demander.claim_data_fault(demand_id).send()
    steps.pass_window(worker)
    worker.finalize(task_id).send()
    assert steps.withdraw_exactly(worker) == bond + worker.get_task(task_id).worker_pay + steps.STAKE


def test_an_unanswered_data_demand_slashes_the_worker_and_reopens_the_task(actors) -> None:
    requester, worker, demander = actors["requester"], actors["worker"], actors["demander"]
    tree = steps.checkpoint_tree()
    task_id = steps.submitted(requester, worker, tree)
    demand_id = steps.demand(demander, task_id, 1)
    with pytest.raises(ContractRevert, match="response open"):
        requester.claim_data_fault(demand_id).send()
    time_travel(worker.w3, worker.params().response_period + 1)
    with pytest.raises(ContractRevert, match="too late"):   # a late upload cannot flip the outcome
        worker.answer_data(demand_id, tree.leaves[1], BLOB, tree.proof(1)).send()

    fault = steps.one(requester, requester.claim_data_fault(demand_id).send(), DataFault)  # anyone may claim
    assert (fault.task_id, fault.demand_id, fault.demander, fault.slashed) == (
        task_id, demand_id, demander.sender.address, steps.STAKE)
    bond = demander.params().min_challenge_bond
    assert demander.credits(demander.sender.address) == bond + steps.STAKE
    assert worker.credits(worker.sender.address) == 0
    task = requester.get_task(task_id)
    assert (task.status, task.open_disputes, task.reward) == (TaskStatusV2.OPEN, 0, steps.PAYMENT)


def test_a_paid_audit_pays_the_assigned_auditor_the_fee_for_a_proven_replay(actors, verifiers) -> None:
    requester, worker = actors["requester"], actors["worker"]
    steps.register(verifiers)
    tree = steps.checkpoint_tree(9)
    task_id = steps.submitted(requester, worker, tree)
    mine(requester.w3, 2)                       # the seed is the hash of the block after the submit
    assigned = steps.one(requester, requester.assign_auditors(task_id).send(), AuditorsAssigned)
    task = requester.get_task(task_id)
    assert assigned.auditors == requester.auditors(task_id) and len(assigned.auditors) == 1
    assert assigned.round == task.submit_block
    audit = requester.get_audit(task_id)
    assert (audit.round, audit.assigned, audit.closed, audit.paid) == (task.submit_block, True, False, 0)
    by_address = {v.sender.address: v for v in verifiers}
    auditor = by_address[assigned.auditors[0]]
    outsider = next(v for v in verifiers if v is not auditor)

    salt = hashlib.sha256(b"the auditor's own salt").digest()
    segment = audit_segment(task_id, salt, len(tree))   # the auditor replays this segment, privately
    leaf = tree.leaves[segment + 1]
    auditor.commit_audit(task_id, leaf, salt).send()
    with pytest.raises(ContractRevert, match="not assigned"):
        outsider.commit_audit(task_id, leaf, salt).send()
    with pytest.raises(ContractRevert, match="not finalized"):
        auditor.reveal_audit(task_id, leaf, tree.proof(segment + 1), salt).send()
    steps.pass_window(worker)
    worker.finalize(task_id).send()

    revealed = steps.one(auditor, auditor.reveal_audit(task_id, leaf, tree.proof(segment + 1), salt).send(),
                         AuditRevealed)
    assert (revealed.auditor, revealed.segment, revealed.leaf, revealed.fee) == (
        auditor.sender.address, segment, leaf, task.verification_fee)
    assert requester.get_audit(task_id).paid == task.verification_fee
    assert steps.withdraw_exactly(auditor) == task.verification_fee
    time_travel(requester.w3, requester.params().reveal_period + 1)
    closed = steps.one(requester, requester.close_audit(task_id).send(), AuditClosed)
    assert closed.refund == 0 and requester.credits(requester.sender.address) == 0
