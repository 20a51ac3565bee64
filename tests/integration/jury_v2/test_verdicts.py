"""Juries that reach a verdict on TaskMarketV2: each juror replays the disputed segment of a real
result, commits, reveals and books its part to the wei; a juror whose vote lost is fined; a juror
restarted between its commit and its reveal still reveals; a verdict on one of two disputes of a
result voids the other."""

from __future__ import annotations

from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.market_v2 import vote_commitment
from engine.chain.records import Reveal
from engine.chain.records_v2 import DisputeResolved, DisputeStatus, JurorPenalized, TaskStatusV2
from engine.verifier.states import VerifierState
from tests.integration.chain_v2 import steps
from tests.integration.jury_v2.results import submit
from tests.integration.verifier.commitments import STAKE, tampered

EMPTY = bytes(32)


def _resolved(market, task_id: int) -> DisputeResolved:
    (event,) = market.task_events(DisputeResolved, task_id)
    return event


def test_five_jurors_replay_convict_a_faked_result_and_book_their_share_to_the_wei(court, store, trained,
                                                                                    tmp_path: Path) -> None:
    c = court()
    files = tampered(trained, 1, tmp_path / "cheat")  # segment 0 computes another checkpoint 1
    result = submit(store, c.requester, c.worker, trained, files)
    bond = c.challenger.challenge_bond(result.task_id)
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)

    c.settle()  # the watcher draws; each juror drawn replays segment 0 and commits
    jury = c.drawn(dispute_id)
    assert len(jury) == 5
    for j in jury:
        duty = j.duty(result.task_id, dispute_id)
        assert duty["vote"] is False and duty["why"].startswith("mismatch"), duty
        assert c.requester.vote_of(dispute_id, j.address).commitment != EMPTY
        assert j.job(result.task_id).state == VerifierState.JUROR
    (left_out,) = [a for a in c.jurors if a not in jury]
    c.vote(*c.jurors)

    resolved = _resolved(c.requester, result.task_id)
    params = c.requester.params()
    juror_cut = STAKE * params.juror_reward_bps // 10_000
    share = juror_cut // 5
    assert (resolved.dispute_id, resolved.outcome, resolved.honest_votes, resolved.cheat_votes, resolved.juror_share) \
        == (dispute_id, DisputeStatus.CHALLENGER_WON, 0, 5, share)
    for j in jury:
        assert c.requester.vote_of(dispute_id, j.address).reveal is Reveal.CHEAT
        assert j.ledger("juror_reward") == [(share, resolved.tx_hash)]
        assert j.ledger("fine") == []
        assert c.requester.credits(j.address) == share
        job = j.job(result.task_id)
        assert (job.state, job.outcome) == (VerifierState.RESOLVED, "jury: worker cheated (0 honest, 5 cheated)")
        assert j.said(f"dispute {dispute_id}: jury: worker cheated (0 honest, 5 cheated); as a juror earned 0.004 ETH")
    assert left_out.ledger("juror_reward") == [] and left_out.job(result.task_id) is None
    assert c.requester.credits(c.challenger.sender.address) == bond + STAKE - juror_cut + (juror_cut - 5 * share)
    assert c.requester.get_task(result.task_id).status is TaskStatusV2.OPEN  # slashed: the task reopens
    assert c.watcher.ledger("juror_reward") == [] and c.watcher.errors() == []
    assert c.requester.get_dispute(dispute_id).status is DisputeStatus.CHALLENGER_WON
    assert dispute_id not in c.watcher.juror._cursor.disputes


def test_a_juror_whose_vote_lost_is_fined_and_books_the_fine(court, store, trained) -> None:
    c = court()
    result = submit(store, c.requester, c.worker, trained)  # honest
    bond = c.challenger.challenge_bond(result.task_id)
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=3)  # a false challenge
    c.settle(c.watcher)
    jury = c.drawn(dispute_id)
    dissenter, honest = jury[0], jury[1:]  # the dissenter's own juror sleeps; it votes "cheated" by hand
    salt = b"\x07" * 32
    dissenter.market.commit_vote(dispute_id, vote_commitment(False, salt, dissenter.address)).send()
    params = c.requester.params()
    c.settle(c.watcher, *honest)
    time_travel(c.w3, params.commit_period + 1)
    dissenter.market.reveal_vote(dispute_id, False, salt).send()
    c.settle(c.watcher, *honest)
    time_travel(c.w3, params.reveal_period + 1)
    c.settle(c.watcher, *honest)
    stake = dissenter.market.verifier_stake(dissenter.address)
    c.settle(dissenter)  # wakes up: reads its draw, the fine and the verdict

    resolved = _resolved(c.requester, result.task_id)
    (fine,) = c.requester.task_events(JurorPenalized, dispute_id)
    juror_cut = bond * params.juror_reward_bps // 10_000
    share = (juror_cut + params.wrong_vote_penalty) // 4
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes, resolved.juror_share) \
        == (DisputeStatus.WORKER_WON, 4, 1, share)
    assert (fine.juror, fine.amount, fine.tx_hash) == (dissenter.address, params.wrong_vote_penalty, resolved.tx_hash)
    assert dissenter.ledger("fine") == [(params.wrong_vote_penalty, resolved.tx_hash)]
    assert dissenter.ledger("juror_reward") == []
    assert stake == params.min_verifier_stake - params.wrong_vote_penalty  # what the ledger says, on chain
    job = dissenter.job(result.task_id)
    assert (job.state, job.outcome) == (VerifierState.RESOLVED, "jury: worker honest (4 honest, 1 cheated)")
    assert dissenter.said("fined 0.01 ETH for a vote against the outcome") == 1
    for j in honest:
        assert j.duty(result.task_id, dispute_id)["vote"] is True
        assert j.ledger("juror_reward") == [(share, resolved.tx_hash)] and j.ledger("fine") == []
        assert c.requester.credits(j.address) == share
    assert c.requester.get_task(result.task_id).status is TaskStatusV2.SUBMITTED  # the window goes on
    # what VerifierV2 still hands to its challenge side: the verdict and the fines, not the jury's own events
    passed_on = {type(e).__name__ for e in dissenter.juror.passed_on}
    assert {"Challenged", "JurorPenalized", "DisputeResolved"} <= passed_on
    assert not passed_on & {"JuryDrawn", "VoteCommitted", "VoteRevealed"}


def test_a_juror_restarted_after_its_commit_reveals_from_the_history(court, store, trained, tmp_path: Path) -> None:
    c = court()
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 2, tmp_path / "cheat"))
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=1)
    c.settle()
    jury = c.drawn(dispute_id)
    restarted = jury[0]
    committed = c.requester.vote_of(dispute_id, restarted.address).commitment
    assert committed != EMPTY and restarted.said("committed a vote") == 1
    restarted.start()  # a new process on the same history and state file, between commit and reveal
    c.vote(*c.jurors)

    assert c.requester.vote_of(dispute_id, restarted.address).reveal is Reveal.CHEAT
    assert restarted.said("revealed the vote: worker cheated") == 1
    assert restarted.said("committed a vote") == 1  # not twice
    resolved = _resolved(c.requester, result.task_id)
    assert (resolved.honest_votes, resolved.cheat_votes) == (0, 5)
    assert restarted.ledger("juror_reward") == [(resolved.juror_share, resolved.tx_hash)]
    assert restarted.errors() == []


def test_two_disputes_of_one_result_the_verdict_on_one_voids_the_other(court, store, trained, accounts, v2_for,
                                                                       tmp_path: Path) -> None:
    c = court()
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 1, tmp_path / "cheat"))
    second = v2_for(accounts[5])  # a second challenger of the same faked segment
    first_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    second_id = steps.challenge(second, result.task_id, result.tree, segment=0)
    bond = second.challenge_bond(result.task_id)
    c.settle(c.watcher)
    both = [j for j in c.drawn(first_id) if j in c.drawn(second_id)]
    assert both, "five of six jurors drawn twice: at least one juror serves on both disputes"
    c.vote(*c.jurors)  # both juries vote "cheated"; the first verdict reopens the task, so the second is void

    resolved = {e.dispute_id: e for e in c.requester.task_events(DisputeResolved, result.task_id)}
    assert resolved[first_id].outcome == DisputeStatus.CHALLENGER_WON
    assert (resolved[second_id].outcome, resolved[second_id].slashed) == (DisputeStatus.VOID, 0)
    assert c.requester.credits(second.sender.address) == bond  # its bond back, nothing else
    share = resolved[first_id].juror_share
    for j in c.jurors:
        rewards = [(share, resolved[first_id].tx_hash)] if j in c.drawn(first_id) else []
        assert j.ledger("juror_reward") == rewards and j.ledger("fine") == []
        assert c.requester.credits(j.address) == share * len(rewards)
    for j in both:
        assert j.duty(result.task_id, first_id)["outcome"] == "jury: worker cheated (0 honest, 5 cheated)"
        assert j.duty(result.task_id, second_id)["outcome"] == "void: the result it disputes was replaced"
        assert j.job(result.task_id).state == VerifierState.RESOLVED
        assert j.said("committed a vote") == 2 and j.said("revealed the vote") == 2


def test_a_juror_whose_history_lost_its_salt_says_so_once_and_books_the_non_reveal_fine(court, store, trained,
                                                                                       tmp_path: Path) -> None:
    c = court()
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 1, tmp_path / "cheat"))
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    c.settle()
    lost = c.drawn(dispute_id)[0]
    duty = lost.duty(result.task_id, dispute_id)
    juries = {**lost.job(result.task_id).detail["juries"], str(dispute_id): {**duty, "salt": None}}
    lost.history.upsert_job(lost.juror.chain_id, lost.market.address, result.task_id, "verifier",
                            detail={"juries": juries})  # its history was replaced after it committed
    params = c.requester.params()
    time_travel(c.w3, params.commit_period + 1)
    for _ in range(3):
        c.settle()
    time_travel(c.w3, params.reveal_period + 1)
    c.settle()

    assert lost.said("cannot reveal: the vote and salt kept in the history do not open the committed vote") == 1
    resolved = _resolved(c.requester, result.task_id)
    assert (resolved.outcome, resolved.cheat_votes) == (DisputeStatus.CHALLENGER_WON, 4)
    assert lost.ledger("fine") == [(params.non_reveal_penalty, resolved.tx_hash)]
    assert lost.ledger("juror_reward") == []
