"""The idle worker follows the market through a log filter: a task posted while it waits is
claimed at once, not after the ``poll_s`` wait (here ten minutes, longer than the test may take)."""

from __future__ import annotations

import threading

from engine.worker import ROLE
from tests.integration.worker.helpers import wait_for


def test_a_task_posted_while_the_worker_waits_wakes_it(make_worker, poster) -> None:  # type: ignore[no-untyped-def]
    worker = make_worker(poll_s=600.0, follow_s=0.05, max_tasks=1)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker._follower is not None and worker.status().reason == "looking for tasks", worker)
        task_id = poster.post()
        wait_for(lambda: poster.market.get_task(task_id).worker == worker.account, worker)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not thread.is_alive()
    job = worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE)
    assert job is not None
