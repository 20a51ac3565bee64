"""The warm runner pool hands out a runner that already imported torch, and cleans up."""

from __future__ import annotations

import time
from pathlib import Path

from engine.runner.client import RunnerProcess
from engine.runner.pool import WarmRunners
from tests.specs import quick_mlp, write


def _wait_for_spare(pool: WarmRunners, timeout: float = 120.0) -> RunnerProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pool._spare is not None:
            return pool._spare
        time.sleep(0.05)
    raise AssertionError("no spare runner became ready")


def test_take_hands_out_the_spare_started_in_the_background_and_warms_the_next() -> None:
    pool = WarmRunners()
    try:
        pool.warm()
        spare = _wait_for_spare(pool)
        t0 = time.monotonic()
        taken = pool.take()
        assert taken is spare and taken.ready["event"] == "ready"
        assert time.monotonic() - t0 < 1.0  # no import of torch on the way to training
        assert _wait_for_spare(pool) is not taken
        taken.stop(timeout=10)
    finally:
        pool.close()


def test_a_spare_that_died_while_idle_is_replaced() -> None:
    pool = WarmRunners()
    try:
        pool.warm()
        spare = _wait_for_spare(pool)
        spare.kill()
        taken = pool.take()
        assert taken is not spare and taken.proc.poll() is None
        taken.stop(timeout=10)
    finally:
        pool.close()


def test_close_stops_the_spare_and_a_pool_never_warmed_keeps_none() -> None:
    pool = WarmRunners()
    pool.warm()
    spare = _wait_for_spare(pool)
    pool.close()
    assert spare.proc.poll() is not None and pool._spare is None

    cold = WarmRunners()
    runner = cold.take()  # a worker driven by step() alone (tests) never holds a spare
    try:
        assert cold._spare is None and cold._starting is None
    finally:
        runner.stop(timeout=10)


def test_a_disabled_pool_starts_runners_on_demand_only() -> None:
    pool = WarmRunners(enabled=False)
    pool.warm()
    assert pool._starting is None and pool._spare is None
    pool.close()


def test_on_two_cores_the_next_spare_starts_after_training_not_during_it() -> None:
    """A spare's start imports torch (about a CPU-second): during training on a 2-core machine it
    took a core from the training (bench.protocol). The worker takes with ``warm_next`` only
    where cores are spare, and refills the pool once training ends."""
    from engine.worker.training import spare_during_training

    assert not spare_during_training(2) and not spare_during_training(1) and spare_during_training(4)
    pool = WarmRunners()
    try:
        pool.warm()
        spare = _wait_for_spare(pool)
        taken = pool.take(warm_next=False)
        assert taken is spare and pool._spare is None and pool._starting is None  # nothing starts meanwhile
        pool.refill()  # training ended
        assert _wait_for_spare(pool) is not taken
        taken.stop(timeout=10)
    finally:
        pool.close()
    cold = WarmRunners()
    cold.refill()  # never warmed by its owner (a worker driven by step() alone): still nothing
    assert cold._spare is None and cold._starting is None
    cold.close()


def _done_job(runner: RunnerProcess, folder: Path) -> RunnerProcess:
    folder.mkdir(parents=True, exist_ok=True)
    runner.start(write(folder / "s.json", quick_mlp(steps=40, checkpoint_every=10)), folder / "job", device="cpu")
    runner.wait_for("done", timeout=120)
    return runner


def test_a_runner_given_back_after_its_job_is_the_next_spare_unless_one_is_there(tmp_path: Path) -> None:
    pool = WarmRunners(lambda: RunnerProcess(max_jobs=5))
    try:
        pool.warm()
        taken = pool.take(warm_next=False)
        _done_job(taken, tmp_path / "a")
        pool.give_back(taken)  # it says free after its job: the spare
        assert taken.jobs_freed == 1 and pool._spare is taken
        assert pool.take(warm_next=False) is taken  # the next job's runner: no new process
        _done_job(taken, tmp_path / "b")
        pool.warm()
        spare = _wait_for_spare(pool)
        pool.give_back(taken)  # a fresh spare is there already: it stays, the used one goes
        assert taken.proc.poll() is not None and pool._spare is spare
    finally:
        pool.close()


def test_a_pool_never_warmed_or_closed_stops_a_runner_given_back(tmp_path: Path) -> None:
    cold = WarmRunners(lambda: RunnerProcess(max_jobs=5))
    runner = _done_job(cold.take(), tmp_path)
    cold.give_back(runner)  # its owner (a worker driven by step() alone) would never close it
    assert runner.proc.poll() is not None and cold._spare is None


def test_a_runner_that_leaves_after_its_job_is_not_kept_and_a_fresh_spare_starts(tmp_path: Path) -> None:
    """A single-use runner (or one at its job cap, or one that used CUDA) given back exits
    instead of saying free: it is not kept, and refill() starts a fresh spare."""
    pool = WarmRunners()
    try:
        pool.warm()
        taken = pool.take(warm_next=False)
        pool.give_back(_done_job(taken, tmp_path))
        assert taken.proc.poll() is not None and pool._spare is None
        pool.refill()
        assert _wait_for_spare(pool) is not taken
    finally:
        pool.close()
