"""A killed app leaves no orphan: kill -9 the app process (a real ``idlegrid app --devnet``,
offscreen, in a subprocess) and the engine service it started goes on, with its one devnet;
the next app adopts that service instead of starting a second one (or a second devnet).

Everything the test started is stopped afterwards even when an assertion fails:
``idlegrid daemon stop``, then SIGKILL by pid of whatever still carries the test's home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from engine.chain.anvil import free_port
from engine.config import save_section
from engine.errors import IdlegridError
from engine.gpu.settings import PolicySettings
from engine.service import client
from tests.conftest import REPO
from tests.gui.leftovers import command_lines, processes_of_home, stop_service_and_leftovers

PROBE = Path(__file__).with_name("app_adopt_probe.py")
T = TypeVar("T")
SERVICE_UP_S = 180.0   # a new service process on a busy machine, then its devnet (anvil, deploy)


class App:
    """One app process; its stdout lines are collected by a thread as they come."""

    def __init__(self, env: dict[str, str], cfg: dict[str, int]) -> None:
        self.popen = subprocess.Popen([sys.executable, str(PROBE), json.dumps(cfg)], cwd=REPO, env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def service_pid(self) -> int | None:
        """The service this app is connected to now, per its last report."""
        reports = [json.loads(line) for line in self.lines if line.startswith("{")]
        last = reports[-1] if reports else {}
        return int(last["service_pid"]) if last.get("connected") and last.get("service_pid") else None

    def kill9(self) -> None:
        self.popen.kill()
        self.popen.wait(30)


def _wait(condition: Callable[[], T], what: str, app: App | None = None, timeout: float = SERVICE_UP_S) -> T:
    """``condition()`` once it is truthy; the test fails when the app exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if app is not None and app.popen.poll() is not None:
            pytest.fail(f"the app exited ({app.popen.returncode}) while waiting for {what}:\n" + "\n".join(app.lines))
        time.sleep(0.5)
    pytest.fail(f"no {what} after {timeout:.0f} s" + ("\n" + "\n".join(app.lines[-40:]) if app else ""))


def _status() -> dict[str, object]:
    try:
        return client.request("status", timeout=10)
    except IdlegridError:  # not up yet, or starting: asked again
        return {}


@pytest.fixture
def everything_stopped(idlegrid_home: Path) -> Iterator[list[App]]:
    """The apps the test starts; afterwards they, the service and its devnet are gone by pid."""
    since = time.time()
    apps: list[App] = []
    yield apps
    for app in apps:
        if app.popen.poll() is None:
            app.kill9()
    stop_service_and_leftovers(idlegrid_home, since)
    assert command_lines(processes_of_home(idlegrid_home, since)) == []


def _by_role(home: Path, port: int) -> dict[str, list[psutil.Process]]:
    procs = processes_of_home(home, 0)
    lines = {p.pid: " ".join(cmd) for p, cmd in zip(procs, command_lines(procs), strict=False)}
    return {
        "service": [p for p in procs if " daemon run" in lines.get(p.pid, "")],
        "devnet": [p for p in procs if " devnet --port " in lines.get(p.pid, "")],
        "anvil": [p for p in procs if "anvil" in lines.get(p.pid, "").split(" ")[0] and f"{port}" in lines[p.pid]],
    }


@pytest.mark.slow
def test_a_killed_app_leaves_one_service_and_the_next_app_adopts_it(
        idlegrid_home: Path, tmp_path: Path, everything_stopped: list[App]) -> None:
    save_section("policy", PolicySettings(run_when="always", foreign_utilization_pct=100,
                                          pause_on_foreign_process=False, resume_after_s=0))
    port = free_port()
    cfg = {"devnet_port": port, "blob_port": free_port(), "dev_account": 1}
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "user")}

    first = App(env, cfg)
    everything_stopped.append(first)
    service_pid = _wait(first.service_pid, "connection of the first app to a service", first)
    # "devnet_child" is true from the moment the child starts; "network" once its anvil answers
    # and the market is deployed, so the kill below cannot come while anvil is still starting.
    _wait(lambda: (status := _status()).get("devnet_child") and status.get("network"),
          "devnet started by the service and ready", first)

    first.kill9()
    assert _status().get("pid") == service_pid  # the service outlived its app

    second = App(env, cfg)
    everything_stopped.append(second)
    assert _wait(second.service_pid, "connection of the second app to a service", second) == service_pid
    roles = _by_role(idlegrid_home, port)
    assert [p.pid for p in roles["service"]] == [service_pid]
    assert len(roles["devnet"]) == 1 and len(roles["anvil"]) == 1, command_lines(processes_of_home(idlegrid_home, 0))
    assert _status().get("devnet_child") is True
