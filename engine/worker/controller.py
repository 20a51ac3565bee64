"""The yield controller: runs one job on the GPU only while the idle policy allows it.

Each :meth:`YieldController.tick` takes a GPU snapshot (the runner's pid passed as our
own), asks :class:`~engine.gpu.policy.IdlePolicy` what to do, and acts on the runner
subprocess:

* RUN: start a runner if there is none (it resumes from the job folder), or resume a
  soft-paused one.
* not RUN, ``hard=False``: **soft pause**. The runner holds at its next step boundary and
  keeps its memory; resuming is instant. Still paused after ``soft_grace_s``: escalate to
  a hard pause. (``keep_memory=True`` serves hard decisions this way too.)
* not RUN, ``hard=True``: **hard pause**. The runner is told to stop: it saves a resume
  point at its next step boundary, reports ``stopped`` and is then killed (its state is on
  disk; its interpreter teardown is not waited for), freeing all its memory. The next RUN
  starts a new runner that resumes there (same final Merkle root as an uninterrupted run).
* Long steps: a runner that has not acknowledged a soft pause (its ``paused`` event)
  within ``ack_timeout_s`` is hard-paused at once; one that reports no ``stopped`` within
  ``stop_timeout_s`` is killed, and the job resumes from its last checkpoint.

It knows nothing of Qt or the chain: the worker calls ``tick`` every ``poll_s`` seconds
(or runs :meth:`serve` in a thread) and reads ``state``, ``reason`` and ``done``. Once the job
is done, :meth:`release` hands its runner back, which a reusable runner (see
``engine/runner/server.py``) may serve another job in; after a failure it is killed there.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from engine.errors import IdlegridError, RunnerError
from engine.gpu.monitor import GpuBackend
from engine.gpu.policy import Decision, IdlePolicy
from engine.runner.protocol import DoneEvent, RunnerEvent

IDLE = "idle"  # no runner yet: waiting for the policy to allow a start
RUNNING = "running"
SOFT_PAUSED = "soft_paused"  # runner alive, held at a step boundary (or asked to be)
HARD_PAUSED = "hard_paused"  # runner stopped (resume point saved), memory freed
DONE = "done"
ERROR = "error"
STATES = (IDLE, RUNNING, SOFT_PAUSED, HARD_PAUSED, DONE, ERROR)


class Runner(Protocol):
    """What the controller needs of :class:`engine.runner.client.RunnerProcess`."""

    proc: subprocess.Popen[str]  # poll() and wait(timeout) are used

    @property
    def pid(self) -> int: ...
    def start(self, spec: str | Path, out: str | Path, *, device: str = ..., progress_every_s: float = ...) -> None: ...
    def send(self, cmd: str, **fields: Any) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def kill(self) -> None: ...
    def next_event(self, timeout: float | None = None) -> RunnerEvent | None: ...


def _runner_process() -> Runner:
    from engine.runner.client import RunnerProcess

    return RunnerProcess()


class YieldController:
    """Drives one job (``spec`` trained into ``job_dir``) under ``policy``; see module doc."""

    def __init__(
        self,
        spec: str | Path,
        job_dir: str | Path,
        backend: GpuBackend,
        policy: IdlePolicy | None = None,
        *,
        user_idle: Callable[[], float | None] = lambda: None,
        on_battery: Callable[[], bool | None] = lambda: None,
        on_event: Callable[[RunnerEvent], None] | None = None,
        device: str = "auto",
        need_mib: int | None = None,
        poll_s: float = 0.2,
        soft_grace_s: float = 60.0,
        ack_timeout_s: float = 1.0,
        stop_timeout_s: float = 10.0,
        exit_wait_s: float = 0.1,
        keep_memory: bool = False,
        progress_every_s: float = 0.5,
        clock: Callable[[], float] = time.time,
        runner_factory: Callable[[], Runner] = _runner_process,
    ) -> None:
        self.spec, self.job_dir = Path(spec), Path(job_dir)
        self.backend, self.policy = backend, policy or IdlePolicy()
        self.user_idle, self.on_battery, self.on_event = user_idle, on_battery, on_event
        self.device, self.need_mib = device, need_mib
        self.poll_s, self.soft_grace_s, self.ack_timeout_s = poll_s, soft_grace_s, ack_timeout_s
        self.stop_timeout_s, self.exit_wait_s, self.keep_memory = stop_timeout_s, exit_wait_s, keep_memory
        self.progress_every_s, self.clock, self.runner_factory = progress_every_s, clock, runner_factory
        self.state = IDLE
        self.runner: Runner | None = None
        self.decision: Decision | None = None
        self.done: DoneEvent | None = None  # the runner's final ``done`` event
        self.error: str | None = None
        self.paused_step: int | None = None  # the step the runner acknowledged holding at
        self._pause_sent_at: float | None = None
        self._acked = False
        self._stopping = self._stop_acked = False
        self._lock = threading.RLock()

    # -- what the tray reads --------------------------------------------------------------
    @property
    def reason(self) -> str:
        """The last decision's reason ("paused: steam_game uses the GPU"), or the error."""
        if self.state == ERROR and self.error:
            return f"error: {self.error}"
        return self.decision.reason if self.decision else "not started"

    @property
    def finished(self) -> bool:
        return self.state in (DONE, ERROR)

    # -- the loop -------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> str:
        """One policy evaluation and the action it calls for; returns the new state."""
        with self._lock:
            self.pump()
            if self.finished:
                return self.state
            now = self.clock() if now is None else now
            own = (self.runner.pid,) if self.runner is not None else ()
            snapshot = self.backend.snapshot(own_pids=own)
            self.decision = d = self.policy.decide(
                snapshot, self.user_idle(), self.on_battery(), datetime.fromtimestamp(now).astimezone(),
                need_mib=self.need_mib,
            )
            if d.may_run:
                if self.runner is None:
                    self._start()
                elif self.state == SOFT_PAUSED:
                    self._resume()
            elif self.state == RUNNING:
                if d.hard and not self.keep_memory:
                    self._hard_pause()
                else:
                    self._soft_pause(now)
            elif self.state == SOFT_PAUSED:
                assert self._pause_sent_at is not None
                waited = now - self._pause_sent_at
                if d.hard and not self.keep_memory:
                    self._hard_pause()
                elif not self._acked and waited >= self.ack_timeout_s:
                    self._hard_pause()  # a step longer than the latency goal: free the GPU
                elif waited >= self.soft_grace_s:
                    self._hard_pause()
            return self.state

    def pump(self, timeout: float = 0.0) -> None:
        """Handle the runner's pending events; wait up to ``timeout`` s for the first."""
        with self._lock:
            while self.runner is not None:
                try:
                    event = self.runner.next_event(timeout=timeout)
                except TimeoutError:
                    return
                timeout = 0.0
                self._handle(event)

    def serve(self, stop: threading.Event) -> None:
        """Tick every ``poll_s`` until ``stop`` is set or the job ends; events are handled
        as they arrive in between (a worker thread may run this)."""
        while not stop.is_set() and not self.finished:
            deadline = time.monotonic() + self.poll_s
            self.tick()
            while not stop.is_set() and not self.finished and (left := deadline - time.monotonic()) > 0:
                if self.runner is None:
                    stop.wait(left)
                else:
                    self.pump(timeout=min(left, 0.05))  # short waits: tick and pump share the lock

    def release(self) -> Runner | None:
        """The runner of a job that is done, still alive, for the caller to reuse; it serves
        another job only if it says ``free`` (``RunnerProcess.wait_free``: the pool's
        ``give_back`` waits for it). A failed job's runner is killed, never reused; None then."""
        with self._lock:
            runner, self.runner = self.runner, None
            if runner is None or not self.finished:
                self.runner = runner
                return None
            if self.state == DONE and runner.proc.poll() is None:
                return runner
            if runner.proc.poll() is None:
                runner.kill()
            return None

    def close(self) -> None:
        """Shut down: a live runner is stopped (it saves a resume point)."""
        with self._lock:
            if self.runner is not None:
                self._hard_pause()

    # -- actions --------------------------------------------------------------------------
    def _start(self) -> None:
        try:
            self.runner = self.runner_factory()
            self.runner.start(self.spec, self.job_dir, device=self.device, progress_every_s=self.progress_every_s)
        except (IdlegridError, OSError, TimeoutError) as e:
            if self.runner is not None and self.runner.proc.poll() is None:
                self.runner.kill()
            self._fail(getattr(e, "message", None) or str(e))
            return
        self.state = RUNNING

    def _resume(self) -> None:
        assert self.runner is not None
        self._send(self.runner.resume)
        if self.state == SOFT_PAUSED:
            self.state, self._pause_sent_at, self._acked = RUNNING, None, False

    def _soft_pause(self, now: float) -> None:
        assert self.runner is not None
        self._send(self.runner.pause)
        if self.state == RUNNING:
            self.state, self._pause_sent_at, self._acked = SOFT_PAUSED, now, False

    def _hard_pause(self) -> None:
        """Ask the runner to save and exit; once it reports ``stopped`` its resume point is
        on disk, so its interpreter teardown (about a second with torch loaded) is not
        waited for beyond ``exit_wait_s``: the process group is killed, freeing its memory
        at once. No ``stopped`` within ``stop_timeout_s`` (a step that long): killed too,
        and the job resumes from its last checkpoint."""
        runner = self.runner
        assert runner is not None
        self._stopping, self._stop_acked = True, False
        try:
            with contextlib.suppress(RunnerError):  # already gone: its end of output follows
                runner.send("stop")
            deadline = time.monotonic() + self.stop_timeout_s
            while self.runner is runner and not self._stop_acked and (left := deadline - time.monotonic()) > 0:
                self.pump(timeout=left)
            proc = runner.proc
            if self._stop_acked:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=self.exit_wait_s)
            if proc.poll() is None:
                runner.kill()
            deadline = time.monotonic() + 2.0  # the rest of its output, up to its end
            while self.runner is runner and (left := deadline - time.monotonic()) > 0:
                self.pump(timeout=left)
        except (IdlegridError, OSError, subprocess.SubprocessError) as e:
            self._fail(getattr(e, "message", None) or str(e))
        finally:
            self._stopping = False
        self.runner = None
        if not self.finished:
            self.state = HARD_PAUSED
        self._pause_sent_at, self._acked = None, False

    def _send(self, command: Callable[[], None]) -> None:
        try:
            command()
        except RunnerError as e:
            self.pump()  # the runner has exited: its events say why
            if not self.finished:
                self._fail(e.message)

    def _fail(self, message: str) -> None:
        self.state, self.error, self.runner = ERROR, message, None

    # -- events ---------------------------------------------------------------------------
    def _handle(self, event: RunnerEvent | None) -> None:
        if event is None:  # the runner's output ended: it exited
            if not self._stopping and not self.finished and self.runner is not None:
                tail = getattr(self.runner, "stderr_tail", [])
                proc = getattr(self.runner, "proc", None)
                code = proc.wait(timeout=5) if proc is not None else None
                self._fail(f"the runner exited unexpectedly (code {code})"
                           + (": " + " | ".join(tail[-3:]) if tail else ""))
            self.runner = None
            return
        if event["event"] == "paused" and self.state == SOFT_PAUSED:
            self._acked, self.paused_step = True, event["step"]
        elif event["event"] == "stopped":
            self._stop_acked = True
        elif event["event"] == "done":
            self.done, self.state, self._stop_acked = event, DONE, True
        elif event["event"] == "error":
            self.state, self.error = ERROR, event["message"]
        if self.on_event is not None:
            self.on_event(event)


__all__ = ["DONE", "ERROR", "HARD_PAUSED", "IDLE", "RUNNING", "SOFT_PAUSED", "STATES", "YieldController"]
