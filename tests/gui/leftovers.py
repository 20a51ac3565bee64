"""Finding and ending the processes a test's app and engine service left behind.

The engine service outlives the app by design (and its devnet child, anvil and the training
runner outlive a killed service), so a test that starts them must end them even when an
assertion failed half-way. Every one of them inherits the test's ``IDLEGRID_HOME``, which no
other test shares: that, and being started after the test began, is how they are told apart
from the session's own anvil and from other tests' processes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import psutil

from engine.config import HOME_ENV
from tests.conftest import REPO

STOP_TIMEOUT_S = 120


def processes_of_home(home: Path, since: float) -> list[psutil.Process]:
    """Every process but this one started at or after ``since`` with ``IDLEGRID_HOME=home``."""
    found = []
    for proc in psutil.process_iter(["pid", "create_time"]):
        if proc.pid == os.getpid() or proc.info["create_time"] < since - 1:
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(HOME_ENV) == str(home) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def command_lines(procs: list[psutil.Process]) -> list[list[str]]:
    lines = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            lines.append(proc.cmdline())
    return lines


def stop_service_and_leftovers(home: Path, since: float) -> list[list[str]]:
    """``idlegrid daemon stop`` (the clean path: checkpoint, stop the devnet child), then
    SIGKILL whatever of ``home`` still runs; returns the command lines that had to be killed."""
    env = {**os.environ, "PYTHONPATH": str(REPO), HOME_ENV: str(home)}
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-m", "engine", "daemon", "stop"], cwd=REPO, env=env, capture_output=True,
                       timeout=STOP_TIMEOUT_S, check=False)
    left = processes_of_home(home, since)
    killed = command_lines(left)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=30)
    return killed
