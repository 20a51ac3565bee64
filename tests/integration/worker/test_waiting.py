"""A committed job waiting out its challenge window is read from the chain only when something
may have moved it: an event naming it, its deadline passing by the chain's clock, or a minute
gone by. Every turn used to ask ``getTask`` for every such job, so a worker with many results
in their windows spent most of its turns, and its CPU, asking about them."""

from __future__ import annotations

from engine.chain.anvil import time_travel
from engine.chain.market import TaskClaimed, TaskStatus
from engine.worker import PAID, ROLE
from tests.integration.worker.helpers import drive

# Long, because the session's anvil runs behind the wall clock: each test's evm_revert turns its
# clock back by the time the test held the snapshot, so late in a full run the chain lags by many
# minutes, and the worker (whose "now" is the later of the two) would see a 600 s window as over.
WINDOW = 30 * 24 * 3600


def test_a_committed_job_is_read_again_only_once_its_window_has_passed(make_worker, poster, history, chain,
                                                                       monkeypatch) -> None:
    task_id = poster.post(window=WINDOW)
    worker = make_worker()
    drive(worker, lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED)
    worker.step()
    worker.step()                                    # read once in its window: remembered
    reads: list[int] = []
    real = worker.market.get_task
    monkeypatch.setattr(worker.market, "get_task", lambda tid: reads.append(tid) or real(tid))

    assert [worker.step() for _ in range(5)] == [False] * 5
    assert reads == []

    time_travel(chain, WINDOW + 1)                   # the chain's clock, not the wall clock, passes it
    drive(worker, lambda: history.job(worker.chain_id, worker.market.address, task_id, ROLE).state == PAID)
    assert task_id in reads


def test_an_event_naming_a_committed_job_has_it_read_at_the_next_turn(make_worker, poster, chain,
                                                                      monkeypatch) -> None:
    task_id = poster.post(window=WINDOW)
    worker = make_worker()
    drive(worker, lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED)
    worker.step()
    worker.step()
    reads: list[int] = []
    real = worker.market.get_task
    monkeypatch.setattr(worker.market, "get_task", lambda tid: reads.append(tid) or real(tid))
    assert not worker.step() and reads == []

    worker._on_market_event(next(iter(worker.market.task_events(TaskClaimed, task_id))))
    worker.step()
    assert reads == [task_id]
