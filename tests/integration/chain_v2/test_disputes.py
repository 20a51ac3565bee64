"""A TaskMarketV2 dispute through the bindings on a real anvil: a committed and revealed challenge,
a jury drawn from the epoch's stake snapshot, votes, the verdict, the slashing and the wrong-vote fine."""

from __future__ import annotations

from engine.chain.records import Reveal
from engine.chain.records_v2 import DisputeResolved, DisputeStatus, JurorPenalized, TaskStatusV2
from tests.integration.chain_v2 import steps


def test_a_cheat_verdict_slashes_the_worker_fines_the_wrong_vote_and_reopens_the_task(actors, verifiers) -> None:
    requester, worker, challenger = actors["requester"], actors["worker"], actors["challenger"]
    steps.register(verifiers)
    assert all(v.verifier(v.sender.address).active for v in verifiers)
    assert requester.active_verifiers() == len(verifiers)
    tree = steps.checkpoint_tree()
    task_id = steps.submitted(requester, worker, tree)
    bond = challenger.challenge_bond(task_id)

    dispute_id = steps.challenge(challenger, task_id, tree, segment=2)
    d = challenger.get_dispute(dispute_id)
    assert d is not None
    assert (d.task_id, d.challenger, d.segment, d.bond, d.status, d.draws, d.epoch) == (
        task_id, challenger.sender.address, 2, bond, DisputeStatus.OPEN, 1, challenger.epoch_now())
    task = challenger.get_task(task_id)
    assert (task.status, task.dispute_id, task.open_disputes) == (TaskStatusV2.SUBMITTED, dispute_id, 1)

    jury = steps.draw(challenger, dispute_id)
    by_address = {v.sender.address: v for v in verifiers}
    assert len(jury) == 5 and set(jury) <= set(by_address)
    jurors = [by_address[a] for a in jury]
    assert all(j.juror_duties(j.sender.address) == 1 for j in jurors)
    dissenter = jurors[4]
    stake_before = dissenter.verifier_stake(dissenter.sender.address)
    steps.vote({**dict.fromkeys(jurors[:4], False), dissenter: True}, dispute_id)
    assert dissenter.vote_of(dispute_id, dissenter.sender.address).reveal is Reveal.HONEST
    assert jurors[0].vote_of(dispute_id, jurors[0].sender.address).reveal is Reveal.CHEAT

    events = requester.events_in(requester.resolve(dispute_id).send())
    (resolved,) = [e for e in events if isinstance(e, DisputeResolved)]
    params = requester.params()
    juror_cut = steps.STAKE * params.juror_reward_bps // 10_000
    pool = juror_cut + params.wrong_vote_penalty
    share = pool // 4
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes, resolved.slashed,
            resolved.juror_share) == (DisputeStatus.CHALLENGER_WON, 1, 4, steps.STAKE, share)
    fines = [(e.dispute_id, e.juror, e.amount) for e in events if isinstance(e, JurorPenalized)]
    assert fines == [(dispute_id, dissenter.sender.address, params.wrong_vote_penalty)]
    # the wrong-vote fine, visible in the reads
    assert dissenter.verifier(dissenter.sender.address).stake == stake_before - params.wrong_vote_penalty
    assert dissenter.credits(dissenter.sender.address) == 0
    assert all(j.credits(j.sender.address) == share for j in jurors[:4])
    assert all(j.juror_duties(j.sender.address) == 0 for j in jurors)
    # the worker's stake slashed to the challenger, less the jurors' cut; the task open again, paid in escrow
    assert challenger.credits(challenger.sender.address) == bond + steps.STAKE - juror_cut + (pool - 4 * share)
    assert worker.credits(worker.sender.address) == 0
    d = requester.get_dispute(dispute_id)
    assert d is not None and d.status is DisputeStatus.CHALLENGER_WON
    task = requester.get_task(task_id)
    assert (task.status, task.open_disputes, task.reward) == (TaskStatusV2.OPEN, 0, steps.PAYMENT)
    assert steps.withdraw_exactly(challenger) == bond + steps.STAKE - juror_cut + (pool - 4 * share)
    assert requester.get_dispute(dispute_id + 100) is None
