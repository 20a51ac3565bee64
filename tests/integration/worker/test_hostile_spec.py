"""A spec built to crash workers (issue 16): 100,000 nested ``[`` posted straight on chain.

Before, json.loads overflowed the C stack under py_ecc's raised recursion limit and every
worker segfaulted "evaluating task N" for as long as the task stayed open. Now the spec is
refused by its depth before parsing, the task is skipped, and the next task trains.
"""

from __future__ import annotations

from engine.chain.market import TaskStatus
from engine.history.store import SKIPPED
from engine.worker import COMMITTED, ROLE
from tests.integration.worker.helpers import Recorder, drive

NESTED = b"[" * 100_000  # 100 KB: far under the 1 MB spec limit


def skip_reasons(events: Recorder, task_id: int) -> list[str]:
    return [e.data["reason"] for e in events if e.task_id == task_id and e.data.get("skipped")]


def test_a_worker_skips_a_nested_spec_posted_on_chain_and_trains_the_next_task(make_worker, poster, history) -> None:
    bad = poster.post(raw=NESTED)
    good = poster.post()
    events = Recorder()
    worker = make_worker(listener=events)
    drive(worker, lambda: (job := history.job(worker.chain_id, worker.market.address, good, ROLE)) is not None
          and job.state == COMMITTED, timeout=180)
    (reason,) = skip_reasons(events, bad)
    assert "nested deeper than 16 levels" in reason
    assert poster.market.get_task(bad).status == TaskStatus.OPEN


def test_a_nested_spec_is_remembered_in_history_and_never_evaluated_again(make_worker, poster, history) -> None:
    bad = poster.post(raw=NESTED)
    first = Recorder()
    worker = make_worker(listener=first)
    drive(worker, lambda: bool(skip_reasons(first, bad)), timeout=60)
    assert history.bad_tasks(worker.chain_id, worker.market.address) == {bad}
    record = history.job(worker.chain_id, worker.market.address, bad, ROLE)
    assert record is not None and record.state == SKIPPED and "nested" in (record.error or "")
    again = Recorder()
    restarted = make_worker(listener=again)
    for _ in range(20):
        restarted.step()
    assert skip_reasons(again, bad) == []  # remembered: not fetched and judged again
    record = history.job(worker.chain_id, worker.market.address, bad, ROLE)
    assert record is not None and record.state == SKIPPED  # not taken for a job of ours (it became "slashed")
    assert not any("jury ruled against" in m for m in again.messages())
