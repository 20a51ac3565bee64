"""A faked result on TaskMarket v2 is challenged in two steps (commit, then reveal from a later
block); the dispute opens with this verifier as challenger, and its settlement is booked to the wei."""

from __future__ import annotations

from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.records_v2 import ChallengeCommitted, DisputeResolved, DisputeStatus, TaskStatusV2
from engine.verifier import CHALLENGED, MISSED, RESOLVED
from engine.verifier.states import AuditPhase
from tests.integration.chain_v2 import steps
from tests.integration.verifier_v2.helpers import STAKE, all_faked, next_epoch, publish


def test_a_faked_result_is_challenged_by_commit_then_reveal_and_the_won_dispute_is_booked(
        actor, v2_for, accounts, store, trained, jurors, tmp_path: Path) -> None:
    me = actor(3)
    me.settle()
    for j in jurors:
        j.register_verifier(j.min_stake_now()).send()
    next_epoch(me.market)
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained, all_faked(trained, tmp_path))
    me.settle()

    job = me.job(posted.task_id)
    challenge = job.detail["challenge"]
    segment = job.detail["audit"]["segment"]
    assert (job.state, job.detail["audit"]["phase"], challenge["segment"], challenge["verdict"]) == (
        CHALLENGED, AuditPhase.DONE, segment, "mismatch")
    (committed,) = me.market.task_events(ChallengeCommitted, posted.task_id)
    assert (committed.challenger, committed.commit_id) == (me.address, challenge["commit_id"])
    dispute = me.market.get_dispute(challenge["dispute_id"])
    assert dispute is not None
    assert (dispute.task_id, dispute.challenger, dispute.segment, dispute.status) == (
        posted.task_id, me.address, segment, DisputeStatus.OPEN)
    assert dispute.bond == challenge["bond"] == me.market.challenge_bond(posted.task_id) == STAKE
    assert challenge["commit_block"] < me.market.task_events(type(me.market).EVENT_TYPES["Challenged"],
                                                              posted.task_id)[0].block_number
    assert challenge["dispute_id"] in me.verifier._cursor.disputes
    assert {"commitChallenge", "revealChallenge"} <= set(job.txs)
    assert me.ledger()["bond"] == me.market.verifier_stake(me.address) + STAKE

    # the jury, driven through the bindings: every juror votes "cheated"
    dispute_id = challenge["dispute_id"]
    jury = me.market.jury(dispute_id) or steps.draw(jurors[0], dispute_id)
    by_address = {j.sender_or_fail().address: j for j in jurors}
    steps.vote(dict.fromkeys((by_address[a] for a in jury), False), dispute_id)
    receipt = jurors[0].resolve(dispute_id).send()
    (resolved,) = [e for e in jurors[0].events_in(receipt) if isinstance(e, DisputeResolved)]
    assert resolved.outcome == DisputeStatus.CHALLENGER_WON
    me.settle()

    params = me.market.params()
    juror_cut = STAKE * params.juror_reward_bps // 10_000
    payout = STAKE - juror_cut + (juror_cut - len(jury) * (juror_cut // len(jury)))
    assert me.market.credits(me.address) == STAKE + payout
    assert (me.ledger()["bond_returned"], me.ledger()["reward"]) == (STAKE, payout)
    job = me.job(posted.task_id)
    assert job.state == RESOLVED and job.outcome.startswith("challenge won (0 honest, 5 cheated)")
    assert dispute_id not in me.verifier._cursor.disputes
    assert me.market.get_task(posted.task_id).status == TaskStatusV2.OPEN


def test_a_challenge_whose_result_is_replaced_before_its_reveal_gets_its_bond_back(
        actor, v2_for, accounts, store, trained, tmp_path: Path) -> None:
    me = actor(3, register=False)
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained, all_faked(trained, tmp_path))
    for _ in range(10):  # turn by turn, until the challenge is committed (and not yet revealed)
        me.verifier.step()
        job = me.job(posted.task_id)
        if job is not None and (job.detail.get("challenge") or {}).get("commit_id") is not None:
            break
    challenge = me.job(posted.task_id).detail["challenge"]
    assert challenge["dispute_id"] is None
    # meanwhile another verifier's data demand goes unanswered: the task reopens
    demander = v2_for(accounts[4])
    demand_id = steps.demand(demander, posted.task_id, 0)
    time_travel(me.market.w3, me.market.params().response_period + 1)
    demander.claim_data_fault(demand_id).send()
    assert me.market.get_task(posted.task_id).status == TaskStatusV2.OPEN

    me.settle()
    job = me.job(posted.task_id)
    assert job.state == MISSED and "replaced" in job.outcome
    assert "expireChallenge" in job.txs
    assert me.market.credits(me.address) == challenge["bond"]
    assert me.ledger()["bond_returned"] == challenge["bond"] == me.ledger()["bond"]
