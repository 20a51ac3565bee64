"""10,000 candidates in flight at once against the simulated market: one thread, one event
scan per turn, no per-task reads but the one result each; bench.search reports its memory
and time per candidate."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.search.coordinator import Coordinator, Progress, SearchConfig
from engine.search.port import Terms
from engine.search.scale import wide_space
from engine.search.simulated import SimulatedMarket
from engine.search.state import CandidateState, SearchState

N = 10_000


class CountingMarket(SimulatedMarket):
    polls = 0
    results = 0

    def poll(self, cursor: int):  # type: ignore[no-untyped-def]
        self.polls += 1
        return super().poll(cursor)

    def result(self, task_id: int):  # type: ignore[no-untyped-def]
        self.results += 1
        return super().result(task_id)


@pytest.mark.slow
def test_ten_thousand_candidates_in_flight_at_once(tmp_path: Path) -> None:
    import threading

    space = wide_space()
    market = CountingMarket(workers=N, train_s=5)
    seen: list[Progress] = []
    config = SearchConfig(budget=N, parallel=N, population=100, sample=25, poll_s=0)
    c = Coordinator(space, SearchState(tmp_path / "search.sqlite3"), market, config,
                    Terms(reward=1, claim_timeout=10**6, train_timeout=10**6), on_progress=seen.append)
    threads = threading.active_count()
    c.run()
    assert max(p.in_flight for p in seen) == N
    assert threading.active_count() == threads
    assert len(c.state.candidates(CandidateState.DONE)) == N == market.posts_made == market.results
    assert market.polls == len(seen)                # one log scan per turn, whatever is in flight
