"""Paid audits on TaskMarket v2: the assigned auditor replays the segment its private salt picks,
commits, reveals once the result is final and is paid its fee share to the wei; a restart between
commit and reveal still reveals."""

from __future__ import annotations

from engine.chain.market_v2 import audit_segment
from engine.chain.records_v2 import TaskStatusV2
from engine.units import format_eth
from engine.verifier import AUDITING, PASSED
from engine.verifier.states import AuditPhase
from tests.integration.verifier_v2.helpers import next_epoch, pass_window, publish


def registered(me) -> None:
    """Register (the first turn) and start a new epoch, so the stake weighs in the auditors' draw."""
    me.settle()
    assert me.market.is_verifier(me.address)
    next_epoch(me.market)


def test_the_assigned_auditor_commits_its_replay_reveals_after_the_window_and_is_paid_its_fee(
        actor, v2_for, accounts, store, trained) -> None:
    me = actor(3)
    registered(me)
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained)
    me.settle()

    task = me.market.get_task(posted.task_id)
    assert me.market.get_audit(posted.task_id).assigned
    assert me.market.auditors(posted.task_id) == (me.address,)
    job = me.job(posted.task_id)
    audit = job.detail["audit"]
    assert (job.state, audit["phase"], audit["assigned"], audit["round"]) == (
        AUDITING, AuditPhase.REVEAL, True, posted.submit_block)
    segment = audit_segment(posted.task_id, bytes.fromhex(audit["salt"]), len(posted.tree))
    assert audit["segment"] == segment
    assert audit["leaf"] == posted.tree.leaves[segment + 1].hex()  # the leaf the replay reproduced
    assert {"assignAuditors", "commitAudit"} <= set(job.txs)
    assert me.said(f"segment {segment}: honest")
    assert task.status == TaskStatusV2.SUBMITTED and me.market.credits(me.address) == 0

    pass_window(me.market)
    me.settle()
    assert me.market.get_task(posted.task_id).status == TaskStatusV2.FINALIZED
    fee = task.verification_fee
    assert fee > 0
    assert me.market.credits(me.address) == fee
    assert me.market.get_audit(posted.task_id).paid == fee
    job = me.job(posted.task_id)
    assert (job.state, job.detail["audit"]["phase"], job.detail["audit"]["fee"]) == (PASSED, AuditPhase.DONE, fee)
    assert me.ledger()["audit_fee"] == fee
    assert me.said(f"revealed the audit of segment {segment}: paid {format_eth(fee, digits=6)} ETH")

    balance = me.market.balance(me.address)
    tx = me.verifier.withdraw()
    receipt = me.market.receipt(tx)
    assert me.market.balance(me.address) == balance + fee - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert me.ledger()["withdrawn"] == fee


def test_an_unassigned_verifier_audits_too_and_is_not_paid(actor, v2_for, accounts, store, trained) -> None:
    me = actor(3, register=False)  # not in the draw: never assigned
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained)
    me.settle()
    job = me.job(posted.task_id)
    assert (job.state, job.outcome, job.detail["audit"]["assigned"]) == (PASSED, "honest", False)
    assert me.market.get_audit(posted.task_id).assigned   # it still drew the auditors (none here)
    assert "commitAudit" not in job.txs


def test_a_verifier_restarted_after_committing_its_audit_still_reveals_and_is_paid(
        actor, v2_for, accounts, store, trained) -> None:
    me = actor(3)
    registered(me)
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained)
    me.settle()
    salt = me.job(posted.task_id).detail["audit"]["salt"]
    assert me.job(posted.task_id).detail["audit"]["phase"] == AuditPhase.REVEAL

    # killed after commitAudit was mined but before the job's detail said so, and before the
    # cursor was saved: a new VerifierV2 over the same history reads the ResultSubmitted again
    audit = me.job(posted.task_id).detail["audit"]
    me.history.upsert_job(me.verifier.chain_id, me.market.address, posted.task_id, "verifier",
                          detail={"audit": {**audit, "phase": AuditPhase.COMMIT}})
    me.verifier._cursor.path.unlink()
    me.start()
    me.settle()
    audit = me.job(posted.task_id).detail["audit"]
    assert (audit["salt"], audit["phase"]) == (salt, AuditPhase.REVEAL)  # same salt: same commitment
    pass_window(me.market)
    me.start()
    me.settle()
    fee = me.market.get_task(posted.task_id).verification_fee
    assert me.market.credits(me.address) == fee and me.ledger()["audit_fee"] == fee
    assert me.job(posted.task_id).state == PASSED
