"""Yield latency: how fast a training job gets off the GPU when another program wants it.

The real ``idlegrid runner`` subprocess trains a long variant of
``resources/tasks/digits-mlp.json`` on the CPU (so no trial ever finishes the job), driven
by ``engine.controller.YieldController`` ticking every 0.1 s in a thread, with a
``SimulatedBackend`` whose ``ManualClock`` the benchmark moves: a foreign process
(``game``, 2000 MiB) appears at a known wall-clock instant, and leaves again after the trial.

* **soft** (``keep_memory=True``: the runner holds at its next step boundary, memory kept):
  from the appearance instant until the controller has handled the runner's ``paused``
  event. One runner serves all soft trials (pause, then resume).
* **hard** (the default: the runner saves a resume point and exits, freeing its memory):
  from the appearance instant until the runner process has exited. Each hard trial needs a
  new runner, which the controller starts (resuming the job) after the previous trial's
  measurement, outside the timing.

Each instant comes 0.1-0.3 s (random) after the runner is seen training, so it falls
anywhere in the controller's poll period; the poll delay is included. Figures are
percentiles over trials. Headline (last line): ``yield_p95_s`` = soft pause p95.
Goal <= 0.5 s; must be <= 1.0 s; hard pause p95 <= 2 s.

    python -m bench.yield [--trials N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from engine.controller import HARD_PAUSED, RUNNING, YieldController
from engine.gpu.policy import IdlePolicy
from engine.gpu.settings import PolicySettings
from engine.gpu.simulated import ManualClock, SimDevice, SimProcess, SimulatedBackend, Timeline

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "resources" / "tasks" / "digits-mlp.json"
PERIOD = 100.0  # simulated seconds between appearances; the process stays for half of it


def long_spec(folder: Path) -> Path:
    spec = json.loads(EXAMPLE.read_text())
    spec.update(steps=1_000_000, checkpoint_every=1000)
    spec["limits"]["max_seconds"] = 3600
    path = folder / "digits-mlp-long.json"
    path.write_text(json.dumps(spec))
    return path


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Session:
    """A controller serving in a thread, a manual GPU clock, and the events it saw."""

    def __init__(self, spec: Path, job: Path, trials: int, *, keep_memory: bool) -> None:
        self.clock = ManualClock(0.0)
        timeline = Timeline(
            device=SimDevice(name="Simulated GPU", memory_total_mib=12288, own_mib=1024, own_utilization=90),
            process=[SimProcess(name="game", mib=2000, start=PERIOD * (k + 1), stop=PERIOD * (k + 1) + PERIOD / 2,
                                utilization=60) for k in range(trials)],
        )
        self.cond = threading.Condition()
        self.seen: list[tuple[float, str]] = []
        self.ctl = YieldController(
            spec, job, SimulatedBackend(timeline, clock=self.clock),
            IdlePolicy(PolicySettings(run_when="always", resume_after_s=0)),
            on_event=self._on_event, device="cpu", poll_s=0.1, keep_memory=keep_memory, progress_every_s=0.05,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.ctl.serve, args=(self.stop,), daemon=True)
        self.thread.start()

    def _on_event(self, event: dict[str, Any]) -> None:
        with self.cond:
            self.seen.append((time.perf_counter(), event["event"]))
            self.cond.notify_all()

    def wait_event(self, name: str, after: int, timeout: float = 120.0) -> float:
        """The time the controller handled the first ``name`` event past index ``after``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, kind in self.seen[after:]:
                    if kind == name:
                        return t
                if self.ctl.finished:
                    raise RuntimeError(f"the controller ended: {self.ctl.state}: {self.ctl.reason}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {name} event within {timeout} s (state {self.ctl.state})")
                self.cond.wait(left)

    def mark(self) -> int:
        with self.cond:
            return len(self.seen)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.ctl.close()


def soft_trials(spec: Path, job: Path, trials: int) -> list[float]:
    s = Session(spec, job, trials, keep_memory=True)
    out: list[float] = []
    try:
        s.wait_event("progress", 0)
        for k in range(trials):
            time.sleep(random.uniform(0.1, 0.3))
            mark = s.mark()
            t0 = time.perf_counter()
            s.clock.now = PERIOD * (k + 1)  # the game appears
            out.append(s.wait_event("paused", mark, timeout=30) - t0)
            mark = s.mark()
            s.clock.now = PERIOD * (k + 1) + PERIOD / 2  # and leaves
            s.wait_event("resumed", mark, timeout=30)
            s.wait_event("progress", s.mark(), timeout=30)
    finally:
        s.close()
    return out


def hard_trials(spec: Path, job: Path, trials: int) -> list[float]:
    s = Session(spec, job, trials, keep_memory=False)
    out: list[float] = []
    try:
        for k in range(trials):
            s.wait_event("progress", s.mark())  # a (new) runner is training
            time.sleep(random.uniform(0.1, 0.3))
            runner = s.ctl.runner
            assert runner is not None and s.ctl.state == RUNNING, s.ctl.state
            proc = runner.proc  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            s.clock.now = PERIOD * (k + 1)  # the game appears
            while proc.poll() is None:
                time.sleep(0.002)
            out.append(time.perf_counter() - t0)
            deadline = time.monotonic() + 30
            while s.ctl.state != HARD_PAUSED and time.monotonic() < deadline:
                time.sleep(0.01)
            s.clock.now = PERIOD * (k + 1) + PERIOD / 2  # the game leaves: a new runner resumes
    finally:
        s.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.yield", description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20, help="trials of each kind (default 20)")
    ap.add_argument("--quick", action="store_true", help="3 trials of each: checks the benchmark works")
    args = ap.parse_args(argv)
    trials = 3 if args.quick else args.trials
    with tempfile.TemporaryDirectory(prefix="idlegrid-yield-") as tmp:
        spec, job = long_spec(Path(tmp)), Path(tmp) / "job"
        soft = soft_trials(spec, job, trials)
        hard = hard_trials(spec, job, trials)
    soft_p95 = percentile(soft, 0.95)
    print(f"soft_pause_p50_s: {percentile(soft, 0.5):.3f}")
    print(f"soft_pause_p95_s: {soft_p95:.3f}")
    print(f"hard_pause_p50_s: {percentile(hard, 0.5):.3f}")
    print(f"hard_pause_p95_s: {percentile(hard, 0.95):.3f}")
    print(f"trials: {trials}")
    print(f"yield_p95_s: {soft_p95:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
