"""Spawning and steering the runner process, from the engine (never imports torch).

Cancel path, as Vorta does it: ask politely (``stop``: the runner saves and exits), then
SIGINT, then terminate the whole process group.

A runner started with ``max_jobs`` > 1 may serve several jobs: after one it says ``free``
(``wait_free``) and takes the next ``start``; see ``engine/runner/server.py``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import RunnerError
from engine.runner.protocol import RunnerEvent, decode_event, encode
from engine.spawn import idlegrid_command


def runner_command(*options: str) -> list[str]:
    """``idlegrid runner OPTIONS`` as a child process (see ``engine.spawn`` for frozen builds)."""
    return idlegrid_command("runner", *options)


class RunnerProcess:
    """One ``idlegrid runner`` child; ``max_jobs`` > 1 lets it serve that many jobs in turn."""

    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None, *,
                 max_jobs: int = 1) -> None:
        self.proc = subprocess.Popen(
            command or runner_command(*(("--max-jobs", str(max_jobs)) if max_jobs > 1 else ())),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, start_new_session=True, env=env,
        )
        self.events: queue.Queue[RunnerEvent | None] = queue.Queue()
        self.stderr_tail: list[str] = []
        self.jobs_started = 0  # start commands sent
        self.jobs_freed = 0  # jobs the runner said it served (its last ``free``): free when equal
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.ready = self.wait_for("ready", timeout=120)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(decode_event(line))
            except RunnerError as e:
                self.events.put({"event": "error", "kind": "RunnerError", "message": e.message, "hint": None})
        self.events.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail = ([*self.stderr_tail, line.rstrip()])[-20:]

    def send(self, cmd: str, **fields: Any) -> None:
        if self.proc.poll() is not None or self.proc.stdin is None:
            raise RunnerError(f"the runner (pid {self.pid}) has exited; cannot send {cmd}")
        try:
            self.proc.stdin.write(encode({"cmd": cmd, **fields}))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise RunnerError(f"the runner (pid {self.pid}) closed its input; cannot send {cmd}") from None

    def start(self, spec: str | Path, out: str | Path, *, device: str = "auto",
              blobs: str | Path | None = None, progress_every_s: float = 0.5) -> None:
        self.send("start", spec=str(spec), out=str(out), device=device,
                  blobs=str(blobs) if blobs else None, progress_every_s=progress_every_s)
        self.jobs_started += 1

    def pause(self) -> None:
        self.send("pause")

    def resume(self) -> None:
        self.send("resume")

    def next_event(self, timeout: float | None = None) -> RunnerEvent | None:
        """The next event, or None once the runner's output has ended."""
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no runner event within {timeout} s") from None
        if event is not None and event["event"] == "free":
            self.jobs_freed = event["jobs"]
        return event

    def iter_events(self, timeout: float | None = None) -> Iterator[RunnerEvent]:
        while (event := self.next_event(timeout)) is not None:
            yield event

    def wait_for(self, *names: str, timeout: float = 60.0) -> RunnerEvent:
        """Skip events until one of ``names``; an error event or exit raises RunnerError."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"runner sent no {'/'.join(names)} within {timeout} s")
            event = self.next_event(left)
            if event is None:
                self.proc.wait(timeout=5)
                tail = "\n".join(self.stderr_tail[-5:])
                raise RunnerError(f"the runner exited (code {self.proc.returncode}) before {'/'.join(names)}"
                                  + (f":\n{tail}" if tail else ""))
            if event["event"] in names:
                return event
            if event["event"] == "error":
                raise RunnerError(event.get("message", "runner error"), hint=event.get("hint"))

    def wait_free(self, timeout: float = 30.0) -> bool:
        """Whether the runner takes a ``start`` now: at once for a runner that has had none;
        after a job, once it says ``free`` for that job. False when it exits instead
        (single-use, its job cap, CUDA used, memory grown, the job failed) or says nothing
        within ``timeout`` s; the caller then discards it."""
        deadline = time.monotonic() + timeout
        try:
            while self.jobs_freed < self.jobs_started:
                self.wait_for("free", timeout=max(0.0, deadline - time.monotonic()))
        except (RunnerError, TimeoutError):
            return False
        return True

    def stop(self, timeout: float = 30.0) -> int:
        """Ask the runner to save and exit; escalate if it does not. Returns its exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(RunnerError):
                self.send("stop")
            for sig, wait in ((None, timeout), (signal.SIGINT, 5.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                if sig is not None:
                    self._signal_group(sig)
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        """kill -9 of the whole group: what a crash looks like (tests use it)."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def _close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def __enter__(self) -> RunnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop(timeout=10)
