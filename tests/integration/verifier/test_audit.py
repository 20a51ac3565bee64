"""A verifier audits committed results on a real chain, with real storage and real replays."""

from __future__ import annotations

from pathlib import Path

from engine.chain.market import TaskStatus
from engine.verifier import CHALLENGED, PASSED, UNVERIFIABLE
from engine.verifier.audit import audit_seed, plan_samples, sample_segments
from tests.integration.verifier.commitments import REWARD, STAKE, publish, tampered


def test_honest_commitment_is_sampled_from_the_block_after_the_commit_and_not_challenged(
        actor, market_for, accounts, store, trained) -> None:
    me = actor(3)
    posted = publish(store, market_for(accounts[1]), market_for(accounts[2]), trained)
    assert me.settle() > 0

    job = me.job(posted.task_id)
    assert (job.state, job.outcome) == (PASSED, "honest")
    audit = job.detail["audit"]
    seed_block = me.market.w3.eth.get_block(posted.commit_block + 1)
    k = plan_samples(6, REWARD, STAKE).k
    assert k == 2
    assert audit["samples"] == sample_segments(audit_seed(bytes(seed_block["hash"]), posted.task_id,
                                                          me.verifier.address), 6, k)
    assert audit["checked"] == {str(i): "honest" for i in audit["samples"]}
    assert me.market.get_task(posted.task_id).status == TaskStatus.SUBMITTED
    assert me.market.get_dispute(posted.task_id) is None
    assert me.market.is_verifier(me.verifier.address)
    assert me.market.verifier_stake(me.verifier.address) == me.market.params().min_verifier_stake
    assert me.said("not challenged")


def test_tampered_checkpoint_is_challenged_with_valid_proofs(actor, market_for, accounts, store, trained,
                                                             tmp_path: Path) -> None:
    me = actor(3, samples=6)
    files = tampered(trained, 2, tmp_path / "cheat")   # leaf 2 is not what segment 1 computes
    posted = publish(store, market_for(accounts[1]), market_for(accounts[2]), trained, files)
    me.settle()

    dispute = me.market.get_dispute(posted.task_id)
    assert dispute is not None and dispute.segment == 1
    assert dispute.challenger == me.verifier.address
    assert dispute.bond == me.market.challenge_bond(posted.task_id) == STAKE
    assert me.market.get_task(posted.task_id).status == TaskStatus.CHALLENGED
    job = me.job(posted.task_id)
    assert job.state == CHALLENGED
    assert job.detail["audit"]["checked"] == {"0": "honest", "1": "mismatch"}
    assert job.detail["challenge"]["verdict"] == "mismatch"
    assert "challenge" in job.txs and job.gas_paid > 0
    assert me.said("challenged segment 1")


def test_withheld_checkpoint_is_grounds_to_challenge(actor, market_for, accounts, store, trained) -> None:
    me = actor(3, samples=6)
    posted = publish(store, market_for(accounts[1]), market_for(accounts[2]), trained, withhold=(1,))
    me.settle()

    dispute = me.market.get_dispute(posted.task_id)
    assert dispute is not None and dispute.segment == 0
    job = me.job(posted.task_id)
    assert job.detail["challenge"]["verdict"] == "bad_data"
    assert "checkpoint 1 is unavailable" in job.detail["challenge"]["reason"]


def test_manifest_whose_leaves_miss_the_root_is_reported_not_challenged(actor, market_for, accounts, store,
                                                                        trained) -> None:
    me = actor(3, samples=6)
    posted = publish(store, market_for(accounts[1]), market_for(accounts[2]), trained, lie_about_leaf=4)
    me.settle()

    job = me.job(posted.task_id)
    assert job.state == UNVERIFIABLE
    assert "not the committed root" in job.outcome
    assert me.market.get_dispute(posted.task_id) is None


def test_own_results_are_not_audited(actor, market_for, accounts, store, trained) -> None:
    me = actor(2)
    posted = publish(store, market_for(accounts[1]), me.market, trained)
    me.settle()
    assert me.job(posted.task_id) is None
