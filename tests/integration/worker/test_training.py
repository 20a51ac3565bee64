"""Training interrupted (a clean stop, a killed runner) resumes from the job folder to the same root."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from engine.chain.market import ResultSubmitted
from engine.events import EngineEvent, EngineState, Kind
from engine.tasks.load import load_spec
from engine.worker import COMMITTED, ROLE, TRAINING
from tests.integration.worker.helpers import drive, events_of, tiny_spec, wait_for
from tests.specs import write

LONG = tiny_spec(steps=400, checkpoint_every=100)


@pytest.fixture(scope="module")
def reference_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The root of the same task trained without interruption."""
    from engine.training.trainer import Trainer

    folder = tmp_path_factory.mktemp("reference")
    return Trainer(load_spec(write(folder / "spec.json", LONG)), folder / "job").run().merkle_root


def job(worker, task_id: int):  # type: ignore[no-untyped-def]
    return worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE)


def committed_root(worker, task_id: int) -> str:  # type: ignore[no-untyped-def]
    drive(worker, lambda: (j := job(worker, task_id)) is not None and j.state == COMMITTED)
    (submitted,) = events_of(worker.market, ResultSubmitted, task_id)
    return "0x" + submitted.merkle_root.hex()


def test_stopping_during_training_checkpoints_and_a_restart_commits_the_uninterrupted_root(
        make_worker, poster, reference_root) -> None:
    task_id = poster.post(LONG)
    stop = threading.Event()

    def stop_midway(event: EngineEvent) -> None:
        if event.kind is Kind.PROGRESS and event.data["step"] >= 120:
            stop.set()

    worker = make_worker(listener=stop_midway)
    worker.run(stop)
    assert job(worker, task_id).state == TRAINING
    assert worker.status().state is EngineState.STOPPED
    assert 100 <= job(worker, task_id).steps_done < 400

    assert committed_root(make_worker(), task_id) == reference_root


def test_a_runner_killed_mid_training_is_restarted_and_resumes_to_the_same_root(
        make_worker, poster, reference_root) -> None:
    task_id = poster.post(LONG)
    killed: list[int] = []
    holder: dict[str, object] = {}

    def kill_midway(event: EngineEvent) -> None:
        ctl = holder["worker"]._controller  # type: ignore[attr-defined]
        if not killed and event.kind is Kind.PROGRESS and event.data["step"] >= 120 and ctl and ctl.runner:
            killed.append(ctl.runner.pid)
            os.killpg(ctl.runner.pid, signal.SIGKILL)

    worker = make_worker(listener=kill_midway)
    holder["worker"] = worker
    assert committed_root(worker, task_id) == reference_root
    assert killed
    assert job(worker, task_id).detail["runner_failures"] == 1


def test_pause_stops_training_and_resume_goes_on(make_worker, poster) -> None:
    task_id = poster.post(LONG)
    stop = threading.Event()
    worker = make_worker()

    def pause_midway(event: EngineEvent) -> None:
        if event.kind is Kind.PROGRESS and event.data["step"] >= 120 and not worker.policy.manual_paused:
            worker.pause("paused for a game")

    worker.listener = pause_midway
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: worker.status().state is EngineState.PAUSED and worker._controller is not None
                 and worker._controller.runner is None, worker)  # the runner checkpointed and exited
        assert worker.status().reason == "paused for a game"
        assert job(worker, task_id).state == TRAINING
        worker.listener = lambda event: None
        worker.resume()
        wait_for(lambda: job(worker, task_id).state == COMMITTED, worker)
    finally:
        stop.set()
        thread.join(60)


def test_the_next_task_trains_in_the_same_runner_and_a_kill_9_of_it_resumes_to_the_same_root(
        make_worker, poster, reference_root, monkeypatch) -> None:
    """The runner of a task that ended well serves the worker's next task (no new process, no
    torch import); killed mid-task there, the task resumes in a new runner to the same root."""
    monkeypatch.setattr("engine.worker.training.spare_during_training", lambda: False)  # as on <= 2 cores:
    # the pool starts no spare while a job trains, so the runner given back is the next one taken
    first, second = poster.post(LONG), poster.post(LONG)
    pids: dict[int, set[int]] = {first: set(), second: set()}
    killed: list[int] = []
    holder: dict[str, object] = {}

    def watch(event: EngineEvent) -> None:
        ctl = holder["worker"]._controller  # type: ignore[attr-defined]
        if event.kind is not Kind.PROGRESS or not ctl or not ctl.runner:
            return
        pids[event.task_id].add(ctl.runner.pid)
        if event.task_id == second and not killed and event.data["step"] >= 120:
            killed.append(ctl.runner.pid)
            os.killpg(ctl.runner.pid, signal.SIGKILL)

    worker = make_worker(listener=watch, max_tasks=2)
    holder["worker"] = worker
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: all((j := job(worker, t)) is not None and j.state == COMMITTED for t in (first, second)),
                 worker, timeout=300)
    finally:
        stop.set()
        thread.join(60)
    assert killed and killed[0] in pids[first]  # the second task's runner was the first task's
    assert len(pids[second]) == 2  # and after the kill, another
    for task_id in (first, second):
        (submitted,) = events_of(worker.market, ResultSubmitted, task_id)
        assert "0x" + submitted.merkle_root.hex() == reference_root
    assert job(worker, second).detail["runner_failures"] == 1
