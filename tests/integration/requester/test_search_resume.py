"""The search coordinator on a real chain (anvil, blob server, history): a candidate whose post
a crash interrupted is adopted from the chain on restart when its transaction left, and posted
once when it never did. Either way the chain holds exactly one task for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.chain.events import EventCursor
from engine.chain.market import TaskPosted
from engine.requester import Requester
from engine.search.chainport import ChainMarket
from engine.search.coordinator import Coordinator, SearchConfig
from engine.search.load import load_space
from engine.search.port import Terms
from engine.search.space import Candidate, SearchSpace
from engine.search.state import CandidateState, SearchState
from engine.tasks.load import canonical_json
from tests.integration.requester.test_recover import crash_after_broadcast
from tests.unit.search.spaces import SPACES

TERMS = Terms(reward=10**16, window=60)


@pytest.fixture
def space() -> SearchSpace:
    return load_space(SPACES / "digits.json")


def coordinator(requester: Requester, space: SearchSpace, folder: Path) -> Coordinator:
    restarted = Requester(requester.market, requester.store, requester.history, local=requester.local)
    config = SearchConfig(budget=1, parallel=1, poll_s=0.0)
    return Coordinator(space, SearchState(folder / "search.sqlite3"), ChainMarket(restarted, folder), config, TERMS)


def journaled(c: Coordinator, space: SearchSpace) -> tuple[int, Candidate]:
    """A candidate in state ``posting``: the coordinator wrote it down, then was killed."""
    cand = space.build(next(iter(space.enumerate())))
    full = {k: v[0] for k, v in space.parameters().items()} | cand.params
    return c.state.add_candidate(full, cand.sha256), cand


def my_posts(requester: Requester, from_block: int) -> list[TaskPosted]:
    events, _ = requester.market.poller().poll(EventCursor(from_block))
    return [e for e in events if isinstance(e, TaskPosted) and e.requester == requester.address]


def test_a_post_that_left_before_the_crash_is_adopted_not_sent_again(requester: Requester, space: SearchSpace,
                                                                     tmp_path: Path) -> None:
    first = coordinator(requester, space, tmp_path)
    first.resume()
    start = first.state.meta("start_block")
    cid, cand = journaled(first, space)
    spec = tmp_path / "candidate.json"
    spec.write_bytes(canonical_json(cand.checked.spec))
    crash_after_broadcast(requester, spec, reward=TERMS.reward)        # sent; the coordinator never heard back
    first.state.close()

    second = coordinator(requester, space, tmp_path)
    second.resume()
    (task,) = second.state.tasks(cid)
    posts = my_posts(requester, start)
    assert [p.task_id for p in posts] == [task.task_id] and posts[0].spec_hash.hex() == cand.sha256
    assert second.state.candidate(cid).state == CandidateState.POSTED and task.gas > 0


def test_a_post_that_never_left_is_sent_once_on_restart(requester: Requester, space: SearchSpace,
                                                        tmp_path: Path) -> None:
    first = coordinator(requester, space, tmp_path)
    first.resume()
    start = first.state.meta("start_block")
    cid, _ = journaled(first, space)
    first.state.close()

    second = coordinator(requester, space, tmp_path)
    second.resume()
    (task,) = second.state.tasks(cid)
    assert [p.task_id for p in my_posts(requester, start)] == [task.task_id]
    assert requester.market.get_task(task.task_id).reward == TERMS.reward
