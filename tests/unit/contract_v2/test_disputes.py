"""Committed challenges, jury draws, commit-reveal voting, redraws and dispute resolution."""

from __future__ import annotations

import boa
import pytest

from tests.unit.contract_v2 import actions as a


def bps(amount: int, market) -> int:
    return amount * market.jurorRewardBps() // 10_000


def test_a_challenge_is_committed_then_revealed(market, requester, worker, challenger, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    bond = market.challengeBond(task_id)
    assert bond == max(market.minChallengeBond(), a.STAKE)
    with boa.reverts("own result"):
        a.commit_challenge(market, worker, task_id, 1)
    commit_id = a.commit_challenge(market, challenger, task_id, 1)
    assert market.getTask(task_id).pendingChallenges == 1
    with boa.reverts("same block"):
        a.reveal_challenge(market, challenger, commit_id, tree, 1)
    boa.env.time_travel(blocks=1)
    with boa.reverts("bad reveal"):  # another segment than the one committed to
        a.reveal_challenge(market, challenger, commit_id, tree, 2)
    dispute_id = a.reveal_challenge(market, challenger, commit_id, tree, 1)
    dispute = market.getDispute(dispute_id)
    assert (dispute.challenger, dispute.bond, dispute.segment, dispute.status) == (challenger, bond, 1, a.D_OPEN)
    task = market.getTask(task_id)
    assert (task.pendingChallenges, task.openDisputes, task.disputeId) == (0, 1, dispute_id)
    a.advance(a.CHALLENGE_WINDOW + 1)
    with boa.reverts("disputes open"):
        market.finalize(task_id)


def test_an_unrevealed_commitment_pays_the_worker_after_the_reveal_period(market, requester, worker, challenger):
    task_id, _ = a.posted_and_submitted(market, requester, worker)
    commit_id = a.commit_challenge(market, challenger, task_id, 1)
    a.advance(a.CHALLENGE_WINDOW + 1)
    with boa.reverts("reveal open"):
        market.expireChallenge(commit_id)
    a.advance(market.revealPeriod())
    market.expireChallenge(commit_id)
    assert market.credits(worker) == market.challengeBond(task_id)
    market.finalize(task_id)


def test_finalize_waits_for_an_unrevealed_commitment_to_expire(market, requester, worker, challenger):
    """finalize reads the task's counters only when a commit or demand marked the result (COUNTED):
    the mark must hold the result until the commitment expires."""
    task_id, _ = a.posted_and_submitted(market, requester, worker)
    commit_id = a.commit_challenge(market, challenger, task_id, 1)
    assert market.getTask(task_id).status == a.SUBMITTED  # the mark is not part of the status
    a.advance(a.CHALLENGE_WINDOW + market.revealPeriod() + 1)
    with boa.reverts("disputes open"):
        market.finalize(task_id)
    market.expireChallenge(commit_id)
    market.finalize(task_id)
    assert market.getTask(task_id).status == a.FINALIZED


def test_a_reopened_task_starts_unmarked_and_finalizes(market, requester, worker, challenger):
    """A data fault reopens a marked result; the next result finalizes without disputes."""
    task_id, _ = a.posted_and_submitted(market, requester, worker)
    demand = market.demandData(task_id, 2, value=market.minChallengeBond(), sender=challenger)
    a.advance(market.responsePeriod() + 1)
    market.claimDataFault(demand)
    assert market.getTask(task_id).status == a.OPEN
    a.claim(market, worker, task_id)
    a.submit(market, worker, task_id)
    a.advance(a.CHALLENGE_WINDOW + 1)
    market.finalize(task_id)
    assert market.getTask(task_id).status == a.FINALIZED


def test_jury_is_drawn_from_a_later_block_without_the_parties(market, requester, worker, challenger, verifiers):
    a.register(market, worker)
    a.register(market, challenger)
    a.next_epoch(market)
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    dispute_id = a.challenge(market, challenger, task_id, tree)
    with boa.reverts("too early"):
        market.drawJury(dispute_id)
    jury = a.draw(market, dispute_id)
    assert len(jury) == len(set(jury)) == market.jurySize()
    assert set(jury) <= set(verifiers)
    assert all(market.jurorDuties(j) == 1 for j in jury)
    dispute = market.getDispute(dispute_id)
    assert dispute.revealDeadline == dispute.commitDeadline + market.revealPeriod()
    with boa.reverts("jury drawn"):
        market.drawJury(dispute_id)


def test_a_draw_in_a_later_epoch_moves_to_a_new_seed(market, requester, worker, challenger, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    dispute_id = a.challenge(market, challenger, task_id, tree)
    a.next_epoch(market)
    market.drawJury(dispute_id)
    assert market.jury(dispute_id) == []
    assert market.getDispute(dispute_id).drawBlock == boa.env.evm.patch.block_number + 1
    assert len(a.draw(market, dispute_id)) == market.jurySize()


def test_worker_loses_a_majority_verdict(market, requester, worker, challenger, disputed):
    task_id, dispute_id, _, jury = disputed
    bond = market.getDispute(dispute_id).bond
    votes = dict.fromkeys(jury[:3], False) | dict.fromkeys(jury[3:], True)
    a.vote_and_resolve(market, dispute_id, votes)
    cut = bps(a.STAKE, market)
    pool = cut + 2 * market.wrongVotePenalty()
    share = pool // 3
    assert market.credits(challenger) == bond + a.STAKE - cut + (pool - 3 * share)
    assert [market.credits(j) for j in jury] == [share] * 3 + [0, 0]
    task = market.getTask(task_id)  # reopened, payment still escrowed
    assert (task.status, task.worker, task.reward) == (a.OPEN, a.ZERO_ADDRESS, a.REWARD)


def test_challenger_loses_and_the_worker_is_paid_its_bond(market, worker, challenger, disputed):
    task_id, dispute_id, _, jury = disputed
    bond = market.getDispute(dispute_id).bond
    a.vote_and_resolve(market, dispute_id, dict.fromkeys(jury, True))
    cut = bps(bond, market)
    share = cut // 5
    assert [market.credits(j) for j in jury] == [share] * 5
    assert market.credits(worker) == bond - cut + (cut - 5 * share)
    a.advance(a.CHALLENGE_WINDOW + 1)
    market.finalize(task_id)


def test_too_few_reveals_redraw_and_fine_the_silent(market, disputed):
    _, dispute_id, _, jury = disputed
    stake = market.verifierStake(jury[0])
    a.vote_and_resolve(market, dispute_id, {jury[0]: True, jury[1]: False})  # 2 of 5 reveal
    dispute = market.getDispute(dispute_id)
    assert (dispute.status, dispute.draws, dispute.commitDeadline) == (a.D_OPEN, 2, 0)
    assert all(market.verifierStake(j) == stake - market.nonRevealPenalty() for j in jury[2:])
    fines = 3 * market.nonRevealPenalty()
    assert market.credits(jury[0]) == market.credits(jury[1]) == fines // 2
    assert all(market.jurorDuties(j) == 0 for j in jury)


@pytest.mark.parametrize("kwargs, reason", [
    ({"jurySize": 4}, "bad jury size"),
    ({"jurySize": 13}, "bad jury size"),
    ({"jurorRewardBps": 10_001}, "bad bps"),
    ({"auditFeeBps": 10_000}, "bad bps"),
    ({"commitPeriod": 0}, "bad period"),
    ({"responsePeriod": 0}, "bad period"),
    ({"minVerifierStake": 0}, "bad verifier stake"),
    ({"minChallengeBond": 0}, "bad bond"),
    ({"maxDraws": 0}, "bad draws"),
    ({"unbondingPeriod": 600}, "bad epoch"),
    ({"auditorsPerTask": 5}, "bad auditors"),
])
def test_constructor_rejects_bad_parameters(kwargs, reason):
    with boa.reverts(reason):
        a.deploy(**kwargs)
