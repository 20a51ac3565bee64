"""The coordinator against the simulated market (same interface as the chain's): it runs to
its budget, reposts or drops what expires, and resumes after a crash at any step with nothing
lost or posted twice. The real-chain crash test is tests/e2e/test_search.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from optuna.trial import TrialState

from engine.search.coordinator import Coordinator, SearchConfig, SearchMismatch
from engine.search.load import load_space
from engine.search.port import Terms
from engine.search.sampler import SamplerKind
from engine.search.simulated import GAS_PER_POST, SimulatedMarket
from engine.search.space import SearchSpace
from engine.search.state import CandidateState, SearchState, TaskState
from tests.unit.search.spaces import SPACES

REWARD = 10**16
TERMS = Terms(reward=REWARD, claim_timeout=100, train_timeout=30)


@pytest.fixture
def space() -> SearchSpace:
    return load_space(SPACES / "digits.json")


def coordinator(space: SearchSpace, path: Path, market: SimulatedMarket, **config: object) -> Coordinator:
    settings = {"budget": 12, "parallel": 3, "population": 4, "sample": 2, "poll_s": 0.0, **config}
    return Coordinator(space, SearchState(path / "search.sqlite3"), market, SearchConfig(**settings), TERMS)  # type: ignore[arg-type]


def test_a_search_evaluates_its_budget_of_distinct_valid_candidates(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=2, train_s=5)
    c = coordinator(space, tmp_path, market)
    c.run()
    done = c.state.candidates(CandidateState.DONE)
    assert len(done) == 12 == market.posts_made
    assert len({r.spec_sha for r in done}) == 12
    assert all(space.valid(r.params) for r in done)
    assert c.progress().spent_wei == 12 * (REWARD + GAS_PER_POST)
    assert c.progress().best == max(r.value for r in done if r.value is not None)


def test_a_worker_that_disappears_costs_a_repost_and_nothing_else(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=2, train_s=5, lose_every=5)
    c = coordinator(space, tmp_path, market)
    c.run()
    tasks = c.state.tasks()
    cancelled = [t for t in tasks if t.state == TaskState.CANCELLED]
    assert cancelled and all(t.refund == REWARD for t in cancelled)
    assert len(c.state.candidates(CandidateState.DONE)) + len(c.state.candidates(CandidateState.DROPPED)) == 12
    assert len(tasks) == market.posts_made == 12 + len(cancelled)
    assert c.progress().spent_wei == spent(c)
    paid = sum(t.reward - t.refund for t in tasks)
    assert paid == REWARD * len([t for t in tasks if t.state == TaskState.SUBMITTED])


def test_a_candidate_nobody_finishes_is_dropped_after_its_attempts(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=1, train_s=5, lose_every=1)     # every claim is abandoned
    c = coordinator(space, tmp_path, market, budget=2, parallel=2, max_attempts=2)
    c.run()
    dropped = c.state.candidates(CandidateState.DROPPED)
    assert len(dropped) == 2 and all(r.attempts == 2 and "expired" in (r.error or "") for r in dropped)
    assert market.posts_made == 4
    assert c.progress().spent_wei == spent(c) == sum(t.gas for t in c.state.tasks())   # every reward came back


@pytest.mark.parametrize("sampler", list(SamplerKind))
def test_a_slashed_result_is_forgotten_and_the_reopened_task_gives_the_fitness(
    space: SearchSpace, tmp_path: Path, sampler: SamplerKind
) -> None:
    """Every sampler forgets a slashed value: with TPE, NSGA-II and random the false perfect
    score once stayed in the Optuna study, steering what was sampled next."""
    market = SimulatedMarket(workers=2, train_s=5, cheat_every=3)       # a perfect score, slashed a tick later
    c = coordinator(space, tmp_path, market, sampler=sampler)
    c.run()
    done = c.state.candidates(CandidateState.DONE)
    assert len(done) == 12 == market.posts_made                        # the market reopened them: no repost
    assert all(r.value is not None and r.value < 1.0 for r in done)
    assert c.progress().best is not None and c.progress().best < 1.0
    slashed = [r for r in done if "slashed" in (r.error or "")]
    assert slashed
    if sampler is SamplerKind.EVOLUTION:  # what it samples from is its population
        assert all(m.value < 1.0 for m in c.sampler._members)  # type: ignore[attr-defined]
    else:  # what Optuna's samplers read is every completed trial of the study
        finished = c.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        assert len(finished) == 12 and all(t.value is not None and t.value < 1.0 for t in finished)


def spent(c: Coordinator) -> int:
    return sum(t.reward - t.refund + t.gas for t in c.state.tasks())


def crash_after(c: Coordinator, turns: int) -> None:
    """Run ``turns`` turns, then drop the coordinator as a kill -9 would (no cleanup)."""
    c.resume()
    for _ in range(turns):
        c.turn()


def test_a_post_journaled_but_never_sent_is_sent_once_on_restart(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=2, train_s=5)
    first = coordinator(space, tmp_path, market)
    crash_after(first, 2)
    cand = space.build(next(iter(space.enumerate())))
    cid = first.state.add_candidate({k: v[0] for k, v in space.parameters().items()} | cand.params, cand.sha256)
    posts = market.posts_made                                   # the crash came before the post left
    second = coordinator(space, tmp_path, market)
    second.run()
    assert second.state.candidate(cid).state == CandidateState.DONE
    assert market.posts_made == 12 == len(second.state.tasks())
    assert posts < market.posts_made


def test_a_post_sent_but_not_recorded_is_adopted_on_restart_not_sent_again(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=2, train_s=5)
    first = coordinator(space, tmp_path, market)
    crash_after(first, 2)
    cand = space.build(next(iter(space.enumerate())))
    cid = first.state.add_candidate({k: v[0] for k, v in space.parameters().items()} | cand.params, cand.sha256)
    sent = market.post(cand.checked, TERMS)                     # it reached the market; then kill -9
    second = coordinator(space, tmp_path, market)
    second.run()
    (task,) = second.state.tasks(cid)
    assert task.task_id == sent.task_id and second.state.candidate(cid).state == CandidateState.DONE
    assert market.posts_made == 12 == len(second.state.tasks())
    hashes = [t.spec.sha256 for t in market.tasks.values()]
    assert len(hashes) == len(set(hashes))


def test_a_crash_at_every_turn_loses_nothing_and_posts_nothing_twice(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=2, train_s=3, lose_every=4)
    for _ in range(60):
        c = coordinator(space, tmp_path, market)
        crash_after(c, 1)
        if c.finished():
            break
    final = coordinator(space, tmp_path, market)
    final.run()
    rows = final.state.candidates()
    assert len(rows) == 12 and all(r.state in (CandidateState.DONE, CandidateState.DROPPED) for r in rows)
    assert market.posts_made == len(final.state.tasks())
    assert final.progress().spent_wei == spent(final)
    live = [t for t in market.tasks.values() if t.state != "cancelled"]
    assert len({t.spec.sha256 for t in live}) == len(live)


def test_a_cancel_interrupted_by_a_crash_is_finished_on_restart(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket(workers=0, train_s=5)              # nobody claims: every task expires
    first = coordinator(space, tmp_path, market, budget=1, parallel=1)
    crash_after(first, 1)
    (row,) = first.state.candidates()
    first.state.set_candidate(row.id, CandidateState.CANCELLING)
    market.clock += 1000
    market.workers = 1
    second = coordinator(space, tmp_path, market, budget=1, parallel=1)
    second.run()
    tasks = second.state.tasks(row.id)
    assert [t.state for t in tasks] == [TaskState.CANCELLED, TaskState.SUBMITTED]
    assert second.state.candidate(row.id).state == CandidateState.DONE


def test_resuming_with_another_sampler_is_refused(space: SearchSpace, tmp_path: Path) -> None:
    market = SimulatedMarket()
    crash_after(coordinator(space, tmp_path, market), 1)
    with pytest.raises(SearchMismatch, match="another space"):
        coordinator(space, tmp_path, market, sampler=SamplerKind.TPE).resume()


@pytest.mark.parametrize("kind", list(SamplerKind))
def test_every_sampler_drives_the_study_through_the_market(
    kind: SamplerKind, space: SearchSpace, tmp_path: Path
) -> None:
    market = SimulatedMarket(workers=3, train_s=2)
    c = coordinator(space, tmp_path, market, sampler=kind)
    c.run()
    done = c.state.candidates(CandidateState.DONE)
    assert len(done) == 12 and len(c.study.trials) >= 12
    assert all(space.valid(r.params) for r in done)


def test_the_results_export_has_every_candidate_and_its_costs(space: SearchSpace, tmp_path: Path) -> None:
    from engine.search.results import build_report, table, write_exports

    c = coordinator(space, tmp_path, SimulatedMarket(workers=2, train_s=5, lose_every=3))
    c.run()
    report = build_report(space, c.state)
    files = write_exports(report, tmp_path)
    body = json.loads(files["json"].read_text())
    assert len(body["candidates"]) == 12 and body["totals"]["cost_wei"] == c.progress().spent_wei
    assert files["csv"].read_text().count("\n") == 13
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table(report).splitlines()[1].split()[0] == "1"
    best = report.best
    assert best is not None and body["best"]["value"] == best.value == c.progress().best

