"""The yield controller with the real runner subprocess and a simulated GPU, and the
yield benchmark's quick run."""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.gpu.policy import IdlePolicy
from engine.gpu.settings import PolicySettings
from engine.gpu.simulated import ManualClock, SimProcess, SimulatedBackend, Timeline
from engine.tasks.load import load_spec
from engine.training.jobdir import JobDir
from engine.training.trainer import Trainer
from engine.worker.controller import HARD_PAUSED, RUNNING, SOFT_PAUSED, YieldController
from tests.conftest import REPO
from tests.specs import quick_mlp, write

APPEARS, LEAVES = 10.0, 20.0  # when the foreign process is on the simulated GPU (s)


@pytest.fixture(scope="module")
def job_spec(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A spec long enough to interrupt, and the root of its uninterrupted run."""
    folder = tmp_path_factory.mktemp("yield-spec")
    spec = write(folder / "s.json", quick_mlp(steps=3000, checkpoint_every=250))
    return spec, Trainer(load_spec(spec), folder / "reference").run().merkle_root


def controller(spec: Path, job: Path, *, leaves: float = LEAVES, **kw: Any) -> tuple[YieldController, ManualClock]:
    """A controller whose GPU timeline and timers share one manual clock."""
    clock = ManualClock(time.time())
    game = SimProcess(name="game", mib=2000, start=APPEARS, stop=leaves, utilization=60)
    backend = SimulatedBackend(Timeline(process=[game]), clock=clock)
    policy = IdlePolicy(PolicySettings(run_when="always", resume_after_s=0))
    kw.setdefault("device", "cpu")
    return YieldController(spec, job, backend, policy, clock=clock, **kw), clock


def drive(ctl: YieldController, until: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert ctl.state != "error", ctl.reason
        assert time.monotonic() < deadline, f"timed out in state {ctl.state}: {ctl.reason}"
        ctl.tick()
        ctl.pump(timeout=0.05)


def checkpoints(events: list[dict]) -> int:
    return sum(e["event"] == "checkpoint" for e in events)


def test_soft_pause_holds_the_runner_and_resume_ends_with_the_uninterrupted_root(job_spec, tmp_path: Path) -> None:
    spec, root = job_spec
    events: list[dict] = []
    ctl, clock = controller(spec, tmp_path / "job", keep_memory=True, on_event=events.append)
    drive(ctl, lambda: checkpoints(events) >= 2)
    runner = ctl.runner
    pid = runner.pid
    clock.now += APPEARS  # the game appears
    assert ctl.tick() == SOFT_PAUSED
    assert "game uses the GPU" in ctl.reason
    drive(ctl, lambda: ctl.paused_step is not None, timeout=10)
    held = len(events)
    time.sleep(0.5)
    ctl.pump()
    assert not [e for e in events[held:] if e["event"] in ("progress", "checkpoint")]  # nothing moves
    assert ctl.runner.proc.poll() is None  # alive, memory kept
    clock.now += LEAVES - APPEARS
    assert ctl.tick() == RUNNING and ctl.runner.pid == pid  # the same runner goes on
    drive(ctl, lambda: ctl.finished)
    assert ctl.state == "done" and runner.proc.wait(timeout=30) == 0  # it exits by itself
    assert ctl.done["merkle_root"] == root
    assert [e["step"] for e in events if e["event"] == "resumed"] == [ctl.paused_step]
    assert ctl.done["resumed_from"] is None  # never restarted


def test_hard_pause_stops_the_runner_and_a_new_one_resumes_to_the_same_root(job_spec, tmp_path: Path) -> None:
    spec, root = job_spec
    events: list[dict] = []
    ctl, clock = controller(spec, tmp_path / "job", on_event=events.append)
    drive(ctl, lambda: checkpoints(events) >= 2)
    first = ctl.runner
    clock.now += APPEARS
    assert ctl.tick() == HARD_PAUSED
    assert first.proc.poll() is not None and ctl.runner is None  # the process is gone
    stopped = [e for e in events if e["event"] == "stopped"]
    assert len(stopped) == 1
    manifest = JobDir(tmp_path / "job").read_manifest()
    assert manifest.result is None
    if stopped[0]["step"] % 250:
        assert manifest.resume["step"] == stopped[0]["step"]
    clock.now += 1.0
    assert ctl.tick() == HARD_PAUSED  # the game is still there
    clock.now += LEAVES - APPEARS
    assert ctl.tick() == RUNNING
    assert ctl.runner is not first
    drive(ctl, lambda: ctl.finished)
    assert ctl.done["resumed_from"] == stopped[0]["step"]
    assert ctl.done["merkle_root"] == root


def test_a_soft_pause_past_the_grace_period_becomes_hard(job_spec, tmp_path: Path) -> None:
    spec, root = job_spec
    events: list[dict] = []
    ctl, clock = controller(spec, tmp_path / "job", leaves=1000.0, keep_memory=True, soft_grace_s=30,
                            on_event=events.append)
    drive(ctl, lambda: checkpoints(events) >= 2)
    runner = ctl.runner
    clock.now += APPEARS
    assert ctl.tick() == SOFT_PAUSED
    drive(ctl, lambda: ctl.paused_step is not None, timeout=10)
    clock.now += 29
    assert ctl.tick() == SOFT_PAUSED and runner.proc.poll() is None
    clock.now += 1
    assert ctl.tick() == HARD_PAUSED
    assert runner.proc.poll() is not None
    assert [e["step"] for e in events if e["event"] == "stopped"] == [ctl.paused_step]
    clock.now += 1000
    drive(ctl, lambda: ctl.finished)
    assert ctl.done["resumed_from"] == ctl.paused_step
    assert ctl.done["merkle_root"] == root


class FakeRunner:
    """A runner stuck in one long step: it never acknowledges a pause."""

    class Proc:
        def __init__(self) -> None:
            self.returncode: int | None = None

        def poll(self) -> int | None:
            return self.returncode

        def wait(self, timeout: float | None = None) -> int:
            if self.returncode is None:
                raise subprocess.TimeoutExpired("fake", timeout or 0)
            return self.returncode

    def __init__(self) -> None:
        self.pid, self.proc, self.sent = 4242, self.Proc(), []
        self.events: queue.Queue = queue.Queue()

    def start(self, spec, out, **kw) -> None:
        self.events.put({"event": "started"})

    def send(self, cmd: str, **fields) -> None:
        self.sent.append(cmd)

    def pause(self) -> None:
        self.send("pause")

    def resume(self) -> None:
        self.send("resume")

    def kill(self) -> None:
        self.sent.append("kill")
        self.proc.returncode = -9
        self.events.put(None)

    def next_event(self, timeout: float | None = None):
        try:
            return self.events.get(timeout=timeout or 1e-9) if timeout else self.events.get_nowait()
        except queue.Empty:
            raise TimeoutError from None


def test_a_pause_not_acknowledged_in_time_escalates_to_a_hard_pause(tmp_path: Path) -> None:
    fake = FakeRunner()
    ctl, clock = controller(tmp_path / "s.json", tmp_path / "job", keep_memory=True, ack_timeout_s=1.0,
                            stop_timeout_s=0.2, runner_factory=lambda: fake)
    assert ctl.tick() == RUNNING
    clock.now += APPEARS
    assert ctl.tick() == SOFT_PAUSED and fake.sent == ["pause"]
    clock.now += 0.9
    assert ctl.tick() == SOFT_PAUSED
    clock.now += 0.1
    assert ctl.tick() == HARD_PAUSED
    assert fake.sent == ["pause", "stop", "kill"]  # no `stopped` within stop_timeout_s: killed
    assert ctl.runner is None


def test_the_benchmark_quick_run_prints_its_figures() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.yield", "--quick"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    names = [line.split(": ")[0] for line in lines]
    assert names == ["soft_pause_p50_s", "soft_pause_p95_s", "hard_pause_p50_s", "hard_pause_p95_s",
                     "trials", "yield_p95_s"]
    values = dict(line.split(": ") for line in lines)
    assert values["trials"] == "3"
    assert all(float(v) >= 0 for v in values.values())


def test_a_runner_free_after_its_job_is_released_for_the_next_job_and_one_that_failed_is_not(
        tmp_path: Path) -> None:
    from engine.runner.client import RunnerProcess

    first = write(tmp_path / "a.json", quick_mlp())
    second = write(tmp_path / "b.json", quick_mlp(seed=21, threads=1))
    want = Trainer(load_spec(second), tmp_path / "reference").run().merkle_root
    ctl, _ = controller(first, tmp_path / "job-a", runner_factory=lambda: RunnerProcess(max_jobs=3))
    drive(ctl, lambda: ctl.finished)
    runner = ctl.release()
    assert runner is not None and ctl.runner is None and runner.wait_free(timeout=60)

    ctl, _ = controller(second, tmp_path / "job-b", runner_factory=lambda: runner)
    drive(ctl, lambda: ctl.finished)
    assert ctl.done["merkle_root"] == want and ctl.release() is runner  # the same process
    assert runner.wait_free(timeout=60)

    ctl, _ = controller(second, tmp_path / "job-a", runner_factory=lambda: runner)  # another task's folder
    while not ctl.finished:
        ctl.tick()
        ctl.pump(timeout=0.05)
    assert ctl.state == "error" and "another task" in ctl.reason
    assert ctl.release() is None  # failed once training started: never reused
    assert runner.proc.wait(timeout=30) in (2, -9)  # it exited with the error's code, or release() killed it
    assert runner.jobs_freed == 2  # free after the two jobs that were done, never after the failed one
