"""One runner process started ahead of need, so a claimed task starts training at once.

A new runner spends seconds (more on a busy machine) importing torch before it is ready: time
between claiming a task and training it, and again after every hard pause. The pool keeps one
spare that did its imports in the background; taking it starts the next spare. The cost is one
idle process with torch loaded (a few hundred MB of RAM), so ``[worker] warm_runner = false``
turns it off.

A runner whose job ended well comes back (``give_back``) and is the next spare: its imports,
about a CPU-second per task (as much as training a digits candidate), are paid once per
``REUSE_JOBS`` tasks instead of once per task. On a 2-core machine that CPU-second came out of
the next job's training or the other worker's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.errors import RunnerError
from engine.runner.client import RunnerProcess

# Jobs one runner process serves before it exits and a fresh one takes over. Its imports then
# cost 1/20 of a CPU-second per task, within noise of nothing; a bound keeps whatever a job may
# leave behind (beyond what engine/runner/reset.py restores and the runner's memory cap) from
# accumulating for the life of the worker.
REUSE_JOBS = 20
# How long give_back() waits for a runner to say it is free for another job: it restores its
# process state (a garbage collection, a millisecond) and says so, or its output ends.
FREE_WAIT_S = 60.0


class WarmRunners:
    def __init__(self, factory: Callable[[], RunnerProcess] = RunnerProcess, *, enabled: bool = True) -> None:
        self.factory, self.enabled = factory, enabled
        self._lock = threading.Lock()
        self._spare: RunnerProcess | None = None
        self._starting: threading.Thread | None = None
        self._closed = False
        self._active = False  # set by the first warm(): from then on every take() warms the next

    def warm(self) -> None:
        """Start a spare in the background unless one is ready or on its way."""
        with self._lock:
            self._active = True
            if not self.enabled or self._closed or self._spare is not None or self._starting is not None:
                return
            self._starting = threading.Thread(target=self._start_spare, name="runner-warm-up", daemon=True)
            self._starting.start()

    def refill(self) -> None:
        """``warm()`` once the pool is in use (its owner called ``warm()``); else nothing."""
        if self._active:
            self.warm()

    def take(self, *, warm_next: bool = True) -> RunnerProcess:
        """A ready runner: the spare when it is alive, else a new one (started here, blocking).
        ``warm_next=False`` leaves starting the next spare to a later ``warm()``: a spare's start
        (importing torch, about a CPU-second) during training slows training where no core is
        free for it."""
        starting = self._starting
        if starting is not None:
            starting.join()  # almost ready: waiting is never slower than starting afresh
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.proc.poll() is not None:
            spare = None  # died while idle (killed, out of memory): start another
        runner = spare or self.factory()
        if warm_next:
            self.refill()
        return runner

    def give_back(self, runner: RunnerProcess) -> None:
        """The runner of a job that is done: the spare once it says ``free`` (a millisecond after
        ``done``), unless the pool already has one (a fresh one wins: it has nothing of past
        jobs) or keeps none (disabled, closed, or never warmed: its owner, a worker driven by
        ``step()`` alone, never closes it). Otherwise, or when it leaves instead of saying free
        (its job cap, CUDA, memory: its output ends as it returns), it is killed: its job is
        saved, its teardown is not waited for, and the owner's ``refill()`` starts a fresh spare."""
        if not runner.wait_free(timeout=FREE_WAIT_S):
            runner.kill()
            return
        with self._lock:
            keep = (self.enabled and self._active and not self._closed
                    and self._spare is None and self._starting is None)
            if keep:
                self._spare = runner
        if not keep:
            runner.kill()

    def close(self) -> None:
        """Stop the spare (it holds no work) and start no more."""
        with self._lock:
            self._closed = True
            starting = self._starting
        if starting is not None:
            starting.join()
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.stop(timeout=5)

    def _start_spare(self) -> None:
        try:
            runner: RunnerProcess | None = self.factory()
        except RunnerError:
            runner = None  # take() starts one in the foreground and reports its error there
        with self._lock:
            self._starting = None
            if not self._closed and self._spare is None:
                self._spare, runner = runner, None
        if runner is not None:  # closed (or a runner came back) while it started
            runner.stop(timeout=5)
