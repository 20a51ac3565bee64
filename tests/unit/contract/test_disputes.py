"""Challenges, jury draws, commit-reveal voting and dispute resolution."""

from __future__ import annotations

import boa
import pytest

from tests.unit.contract import actions as a


def bps(amount: int, market) -> int:
    return amount * market.jurorRewardBps() // 10_000


def test_challenge_locks_the_bond_and_records_the_dispute(market, submitted, challenger):
    task_id, tree = submitted
    bond = market.challengeBond(task_id)
    assert bond == max(market.minChallengeBond(), a.STAKE)
    a.challenge(market, challenger, task_id, tree, segment=1)
    dispute = market.getDispute(task_id)
    assert (dispute.challenger, dispute.bond, dispute.segment) == (challenger, bond, 1)
    assert dispute.drawBlock == boa.env.evm.patch.block_number + 1
    assert market.getTask(task_id).disputeId == 1


def test_challenge_reverts(market, requester, worker, challenger, submitted):
    task_id, tree = submitted
    with boa.reverts("own result"):
        a.challenge(market, worker, task_id, tree)
    with boa.reverts("wrong bond"):
        market.challenge(task_id, 0, tree.leaves[0], tree.proof(0), tree.leaves[1], tree.proof(1),
                         value=market.challengeBond(task_id) - 1, sender=challenger)
    claimed = a.post(market, requester)
    a.claim(market, worker, claimed)
    with boa.reverts("not submitted"):
        a.challenge(market, challenger, claimed, tree)
    a.advance(a.CHALLENGE_WINDOW + 1)
    with boa.reverts("window closed"):
        a.challenge(market, challenger, task_id, tree)
    market.finalize(task_id)  # an unchallenged window ends in payment


def test_a_challenged_task_cannot_be_finalized(market, submitted, challenger):
    task_id, tree = submitted
    a.challenge(market, challenger, task_id, tree)
    a.advance(a.CHALLENGE_WINDOW + 1)
    with boa.reverts("not submitted"):
        market.finalize(task_id)


def test_jury_is_drawn_from_a_later_block_without_the_parties(market, requester, worker, challenger, verifiers):
    a.register(market, worker)
    a.register(market, challenger)
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    with boa.reverts("not challenged"):
        market.drawJury(task_id)
    a.challenge(market, challenger, task_id, tree)
    with boa.reverts("too early"):
        market.drawJury(task_id)
    jury = a.draw(market, task_id)
    assert len(jury) == len(set(jury)) == market.jurySize()
    assert set(jury) <= set(verifiers)
    assert all(market.jurorDuties(j) == 1 for j in jury)
    dispute = market.getDispute(task_id)
    assert dispute.commitDeadline == boa.env.timestamp + market.commitPeriod()
    assert dispute.revealDeadline == dispute.commitDeadline + market.revealPeriod()
    with boa.reverts("jury drawn"):
        market.drawJury(task_id)


def test_jury_draw_is_stake_weighted(market, requester, worker, challenger):
    whale = a.actor(10**6 * a.ETHER)
    a.register(market, whale, 10**5 * a.ETHER)
    small = [a.actor() for _ in range(6)]
    for verifier in small:
        a.register(market, verifier)
    drawn = 0
    for _round in range(6):
        task_id, tree = a.posted_and_submitted(market, requester, worker)
        a.challenge(market, challenger, task_id, tree)
        jury = a.draw(market, task_id)
        assert len(set(jury)) == 3 and set(jury) <= {whale, *small}
        drawn += whale in jury
    assert drawn == 6  # a million-to-one weight is always drawn


def test_jury_is_smaller_when_few_verifiers_are_eligible(market, submitted, challenger):
    task_id, tree = submitted
    lonely = a.actor()
    a.register(market, lonely)
    a.challenge(market, challenger, task_id, tree)
    assert a.draw(market, task_id) == [lonely]


def test_draw_after_256_blocks_is_deferred(market, submitted, challenger, verifiers):
    task_id, tree = submitted
    a.challenge(market, challenger, task_id, tree)
    boa.env.time_travel(blocks=300)
    market.drawJury(task_id)
    assert market.jury(task_id) == []
    assert market.getDispute(task_id).drawBlock == boa.env.evm.patch.block_number + 1
    with boa.reverts("too early"):
        market.drawJury(task_id)
    assert len(a.draw(market, task_id)) == 3


def test_commit_reverts(market, submitted, disputed, stranger):
    task_id, _, jury = disputed
    c = a.commitment(True, a.salt_of(jury[0]), jury[0])
    with boa.reverts("not juror"):
        market.commitVote(task_id, c, sender=stranger)
    with boa.reverts("empty commitment"):
        market.commitVote(task_id, bytes(32), sender=jury[0])
    market.commitVote(task_id, c, sender=jury[0])
    assert market.voteOf(task_id, jury[0]) == (c, 0)
    with boa.reverts("already committed"):
        market.commitVote(task_id, c, sender=jury[0])
    a.advance(market.commitPeriod() + 1)
    with boa.reverts("commit closed"):
        market.commitVote(task_id, c, sender=jury[1])


def test_commit_before_the_draw_reverts(market, submitted, challenger, verifiers):
    task_id, tree = submitted
    with boa.reverts("not challenged"):
        market.commitVote(task_id, b"\x01" * 32, sender=verifiers[0])
    a.challenge(market, challenger, task_id, tree)
    with boa.reverts("no jury"):
        market.commitVote(task_id, b"\x01" * 32, sender=verifiers[0])
    with boa.reverts("no jury"):
        market.revealVote(task_id, True, bytes(32), sender=verifiers[0])
    with boa.reverts("no jury"):
        market.resolve(task_id)


def test_reveal_reverts(market, disputed):
    task_id, _, jury = disputed
    a.commit_all(market, task_id, {jury[0]: True, jury[1]: False})
    with boa.reverts("commit open"):
        market.revealVote(task_id, True, a.salt_of(jury[0]), sender=jury[0])
    a.advance(market.commitPeriod() + 1)
    with boa.reverts("no commit"):
        market.revealVote(task_id, True, a.salt_of(jury[2]), sender=jury[2])
    with boa.reverts("bad reveal"):
        market.revealVote(task_id, False, a.salt_of(jury[0]), sender=jury[0])
    with boa.reverts("bad reveal"):
        market.revealVote(task_id, True, bytes(32), sender=jury[0])
    market.revealVote(task_id, True, a.salt_of(jury[0]), sender=jury[0])
    assert market.voteOf(task_id, jury[0])[1] == 1
    with boa.reverts("already revealed"):
        market.revealVote(task_id, True, a.salt_of(jury[0]), sender=jury[0])
    with boa.reverts("reveal open"):
        market.resolve(task_id)
    a.advance(market.revealPeriod() + 1)
    with boa.reverts("reveal closed"):
        market.revealVote(task_id, False, a.salt_of(jury[1]), sender=jury[1])


def test_worker_loses_a_majority_verdict(market, requester, worker, challenger, disputed):
    task_id, _, jury = disputed
    bond = market.getDispute(task_id).bond
    a.vote_and_resolve(market, task_id, {jury[0]: False, jury[1]: False, jury[2]: True})
    cut = bps(a.STAKE, market)
    share = cut // 2
    assert market.credits(challenger) == bond + a.STAKE - cut + (cut - 2 * share)
    assert [market.credits(j) for j in jury] == [share, share, 0]
    assert market.credits(worker) == 0
    task = market.getTask(task_id)  # reopened, reward still escrowed
    assert (task.status, task.worker, task.reward, task.merkleRoot) == (a.OPEN, a.ZERO_ADDRESS, a.REWARD, bytes(32))
    assert task_id in market.openTasks(0, 100)
    assert boa.env.get_balance(market.address) == (
        a.REWARD + sum(market.verifierStake(v) for v in jury) + 2 * market.minVerifierStake()
        + market.credits(challenger) + 2 * share)
    a.claim(market, a.actor(), task_id)  # a new worker may take it
    with boa.reverts("not challenged"):
        market.resolve(task_id)


def test_challenger_loses_and_the_worker_is_paid(market, requester, worker, challenger, disputed):
    task_id, _, jury = disputed
    bond = market.getDispute(task_id).bond
    a.vote_and_resolve(market, task_id, dict.fromkeys(jury, True))
    cut = bps(bond, market)
    share = cut // 3
    assert [market.credits(j) for j in jury] == [share] * 3
    assert market.credits(challenger) == 0
    assert market.credits(worker) == bond - cut + (cut - 3 * share)
    assert market.getTask(task_id).status == a.ACCEPTED
    market.finalize(task_id)
    assert a.withdraw_all(market, worker) == bond - cut + (cut - 3 * share) + a.REWARD + a.STAKE


def test_non_revealing_jurors_are_penalized_for_the_majority(market, worker, challenger, disputed):
    task_id, _, jury = disputed
    stake = market.verifierStake(jury[0])
    penalty = market.nonRevealPenalty()
    # jury[1] commits but does not reveal, jury[2] never commits
    a.vote_and_resolve(market, task_id, {jury[0]: True, jury[1]: False}, reveal={jury[0]: True})
    assert market.verifierStake(jury[1]) == market.verifierStake(jury[2]) == stake - penalty
    assert market.verifierStake(jury[0]) == stake
    assert market.totalActiveStake() == 5 * stake - 2 * penalty
    bond = market.getDispute(task_id).bond
    assert market.credits(jury[0]) == bps(bond, market) + 2 * penalty
    assert market.credits(worker) == bond - bps(bond, market)


def test_no_reveals_leave_the_commitment_standing(market, worker, challenger, disputed):
    task_id, _, jury = disputed
    bond = market.getDispute(task_id).bond
    a.vote_and_resolve(market, task_id, {})
    assert market.getTask(task_id).status == a.ACCEPTED
    assert market.credits(worker) == bond + 3 * market.nonRevealPenalty()
    assert all(market.credits(j) == 0 for j in jury)


def test_a_tie_goes_to_the_worker(market, worker, disputed):
    task_id, _, jury = disputed
    a.vote_and_resolve(market, task_id, {jury[0]: True, jury[1]: False})
    dispute = market.getDispute(task_id)
    assert (dispute.honestVotes, dispute.cheatVotes) == (1, 1)
    assert market.getTask(task_id).status == a.ACCEPTED


def test_penalty_is_capped_by_the_remaining_stake():
    market = a.deploy(nonRevealPenalty=10 * a.ETHER)
    requester, worker, challenger = a.actor(), a.actor(), a.actor()
    jurors = [a.actor() for _ in range(3)]
    for juror in jurors:
        a.register(market, juror)
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    a.challenge(market, challenger, task_id, tree)
    a.draw(market, task_id)
    a.vote_and_resolve(market, task_id, {})
    assert all(market.verifierStake(j) == 0 for j in jurors)
    assert market.totalActiveStake() == 0


@pytest.mark.parametrize("kwargs, reason", [
    ({"jurySize": 2}, "bad jury size"),
    ({"jurySize": 11}, "bad jury size"),
    ({"jurorRewardBps": 10_001}, "bad bps"),
    ({"commitPeriod": 0}, "bad period"),
    ({"minVerifierStake": 0}, "bad verifier stake"),
    ({"minChallengeBond": 0}, "bad bond"),
])
def test_constructor_rejects_bad_parameters(kwargs, reason):
    with boa.reverts(reason):
        a.deploy(**kwargs)
