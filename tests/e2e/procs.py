"""The network's actors as real subprocesses, each with its own log, for the end-to-end tests.

A :class:`Proc` runs in its own process group; ``kill9`` takes down the process *and* every
descendant (the worker's training runner lives in a session of its own) at once, as a crash
or power cut would. :class:`Procs` keeps every process
a test started, stops them all at teardown and renders their logs when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from tests.e2e.actors import Actor

REPO = Path(__file__).resolve().parents[2]
IDLEGRID = [sys.executable, "-m", "engine"]
LOG_TAIL = 6_000
OPEN: list[Procs] = []


class Proc:
    """One subprocess of the network, logging stdout and stderr to ``log``."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, list(argv), env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Proc:
        assert not self.alive(), f"{self.name} is already running"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout:.0f} s\n{self.tail()}") from None

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill9(self) -> None:
        """SIGKILL to the process and all its descendants at once: they die mid-write."""
        if self.alive():
            victims = [psutil.Process(self.pid), *self.descendants()]
            for p in victims:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
            self.popen.wait()
            psutil.wait_procs(victims, timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGINT (a clean stop, like Ctrl-C), then SIGKILL if it hangs; descendants it left
        behind are killed too."""
        if self.popen is None:
            return None
        if self.alive():
            kids = self.descendants()
            os.killpg(self.pid, signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait()
            for p in kids:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
        _reap_group(self.pid)
        return self.popen.returncode

    def text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, chars: int = LOG_TAIL) -> str:
        body = self.text()
        return f"----- {self.name} ({self.log}) -----\n{body[-chars:]}"


def _reap_group(pgid: int) -> None:
    """Children left behind in the group (a runner whose parent died) are killed too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Procs:
    """Every subprocess a test (or a module's scenario) started; while open, a failing test's
    report carries their logs (see ``conftest.py``)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.all: list[Proc] = []
        OPEN.append(self)

    def close(self) -> None:
        """Stop every process; their logs are no longer attached to failures."""
        self.stop_all()
        if self in OPEN:
            OPEN.remove(self)

    def spawn(self, name: str, actor: Actor, argv: Sequence[str], *, start: bool = True) -> Proc:
        proc = Proc(name, argv, actor.env(), self.log_dir / f"{name}.log")
        self.all.append(proc)
        return proc.start() if start else proc

    def idlegrid(self, name: str, actor: Actor, *args: str, start: bool = True) -> Proc:
        """``idlegrid ARGS`` as ``actor`` (the same entry point as the installed script)."""
        return self.spawn(name, actor, [*IDLEGRID, *args], start=start)

    def python(self, name: str, actor: Actor, module: str, *args: str, start: bool = True) -> Proc:
        return self.spawn(name, actor, [sys.executable, "-m", module, *args], start=start)

    def stop_all(self) -> None:
        for proc in reversed(self.all):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.all)


def wait_until(condition: Callable[[], object], timeout: float, what: str, *,
               every: float = 0.25, procs: Procs | None = None, tick: Callable[[], None] | None = None) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` (and the logs) on timeout.

    ``tick`` runs between polls (e.g. mine a block so processes waiting for one see it).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = f"\n{procs.logs()}" if procs is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{logs}")
        if tick is not None:
            tick()
        time.sleep(every)
