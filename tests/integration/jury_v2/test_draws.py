"""Draws on TaskMarketV2: too few reveals fine the silent jurors, pay their fines to those who
revealed and draw a new jury, whose jurors serve (a juror drawn again votes with a new salt);
after maxDraws the dispute is void and every juror books its part; a draw moved to a new epoch
is drawn in the next turn."""

from __future__ import annotations

from pathlib import Path

from engine.chain.records import JuryDrawDeferred
from engine.chain.records_v2 import DisputeResolved, DisputeStatus, JuryRedrawn, TaskStatusV2, VoteCommitted
from engine.verifier.states import VerifierState
from tests.integration.chain_v2 import steps
from tests.integration.jury_v2.results import submit
from tests.integration.verifier.commitments import STAKE, tampered


def _books_match_the_chain(c, stakes: dict[str, int]) -> None:
    """Every juror's ledger says what the market holds: its credits are its juror rewards, and
    its stake is short by exactly its fines."""
    for j in c.jurors:
        assert j.booked("juror_reward") == c.requester.credits(j.address), j.address
        assert j.booked("fine") == stakes[j.address] - c.requester.verifier_stake(j.address), j.address
        assert j.errors() == []


def test_too_few_reveals_fine_the_silent_pay_the_revealers_and_a_new_jury_serves(court, store, trained,
                                                                                  tmp_path: Path) -> None:
    c = court()
    stakes = {j.address: c.requester.verifier_stake(j.address) for j in c.jurors}
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 1, tmp_path / "cheat"))
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    c.settle(c.watcher)
    first = c.drawn(dispute_id)
    awake, silent = first[:2], first[2:]
    c.vote(*awake)  # two of five reveal: no decision; the watcher resolves, and draws again

    (redrawn,) = c.requester.task_events(JuryRedrawn, result.task_id)
    assert (redrawn.dispute_id, redrawn.draws) == (dispute_id, 2)
    second = c.drawn(dispute_id)
    assert len(second) == 5 and c.requester.get_dispute(dispute_id).draws == 2
    c.vote(*c.jurors)  # everyone awake: the silent book their fines, the new jury serves

    params = c.requester.params()
    pool = 3 * params.non_reveal_penalty
    (resolved,) = c.requester.task_events(DisputeResolved, result.task_id)
    share = STAKE * params.juror_reward_bps // 10_000 // 5
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes, resolved.juror_share) \
        == (DisputeStatus.CHALLENGER_WON, 0, 5, share)
    for j in c.jurors:
        fines = [(params.non_reveal_penalty, redrawn.tx_hash)] if j in silent else []
        rewards = ([(pool // 2, redrawn.tx_hash)] if j in awake else []) + \
                  ([(share, resolved.tx_hash)] if j in second else [])
        assert j.ledger("fine") == fines, j.address
        assert j.ledger("juror_reward") == rewards, j.address
    _books_match_the_chain(c, stakes)
    for j in silent:
        assert j.said(f"dispute {dispute_id}: jury redrawn: 2 of 5 revealed (0 honest, 2 cheated); fined 0.01 ETH "
                      "for not revealing a vote") == 1
    again = [j for j in awake if j in second]
    assert again, "five of six jurors drawn twice: at least one who revealed the first time"
    for j in again:  # served twice: the verdict kept, a new salt (its first reveal made the vote public)
        commits = [e.commitment for e in c.requester.task_events(VoteCommitted, dispute_id) if e.juror == j.address]
        assert len(commits) == 2 and commits[0] != commits[1]
        assert j.said("committed a vote") == 2
    for j in second:
        job = j.job(result.task_id)
        assert (job.state, job.outcome) == (VerifierState.RESOLVED, "jury: worker cheated (0 honest, 5 cheated)")


def test_max_draws_without_a_decision_leave_the_dispute_void_and_every_book_exact(court, store, trained,
                                                                                 tmp_path: Path) -> None:
    c = court()
    stakes = {j.address: c.requester.verifier_stake(j.address) for j in c.jurors}
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 1, tmp_path / "cheat"))
    bond = c.challenger.challenge_bond(result.task_id)
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    params = c.requester.params()
    juries = []
    for _ in range(params.max_draws):
        c.settle(c.watcher)  # draws (again after a redraw, or when a new epoch moved the draw)
        juries.append(c.drawn(dispute_id))
        c.vote(juries[-1][0])  # one juror of five reveals
    (void,) = c.requester.task_events(DisputeResolved, result.task_id)
    redraws = c.requester.task_events(JuryRedrawn, result.task_id)
    assert (void.outcome, void.honest_votes, void.cheat_votes, void.slashed) == (DisputeStatus.VOID, 0, 1, 0)
    assert len(redraws) == params.max_draws - 1
    c.settle()

    ends = [e.tx_hash for e in redraws] + [void.tx_hash]
    pool = 4 * params.non_reveal_penalty  # four silent jurors a draw, shared by the one who revealed
    for j in c.jurors:
        fines = [(params.non_reveal_penalty, tx) for jury, tx in zip(juries, ends) if j in jury[1:]]
        rewards = [(pool, tx) for jury, tx in zip(juries, ends) if j is jury[0]]
        assert j.ledger("fine") == fines, j.address
        assert j.ledger("juror_reward") == rewards, j.address
    _books_match_the_chain(c, stakes)
    for j in juries[-1]:
        job = j.job(result.task_id)
        assert job.state == VerifierState.RESOLVED
        assert job.outcome == (f"void: no decision in {params.max_draws} draws (0 honest, 1 cheated); "
                              "bond and stake returned")
    # no vote paid the worker: bond and stake back, the task open again with its payment escrowed
    assert c.requester.credits(c.challenger.sender.address) == bond
    assert c.requester.credits(c.worker.sender.address) == STAKE
    assert c.requester.get_task(result.task_id).status is TaskStatusV2.OPEN
    assert c.requester.get_dispute(dispute_id).status is DisputeStatus.VOID
    assert all(dispute_id not in a.juror._cursor.disputes for a in (c.watcher, *c.jurors))


def test_a_draw_moved_by_a_new_epoch_is_drawn_in_the_next_turn(court, store, trained, tmp_path: Path) -> None:
    c = court()
    result = submit(store, c.requester, c.worker, trained, tampered(trained, 1, tmp_path / "cheat"))
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    steps.next_epoch(c.requester)  # the challenge's epoch is over before anyone draws: its snapshot is stale
    c.settle(c.watcher)

    (deferred,) = c.requester.task_events(JuryDrawDeferred, result.task_id)
    assert deferred.dispute_id == dispute_id
    assert c.watcher.said(f"the draw of dispute {dispute_id}'s jury moved to block {deferred.draw_block}") == 1
    assert len(c.drawn(dispute_id)) == 5 and c.requester.get_dispute(dispute_id).epoch == c.requester.epoch_now()

