"""The engine service's lifecycle under the real app (offscreen widgets), a real anvil, a real
blob server and a real ``idlegrid daemon run`` subprocess started by the app itself:

start the app -> the service starts and a job trains; quit the app -> the job still trains and
``idlegrid status`` shows it; reopen the app -> it shows the same job; kill -9 the service ->
the app says so and starts it again, and the job resumes to the root of an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from app.engine_host import STATUS_STOPPED
from app.shell import Shell
from engine.chain.market import ResultSubmitted
from engine.chain.settings import NetworkSettings, save_network
from engine.events import EngineEvent, Kind
from engine.service import client
from engine.storage import BlobServer, HttpStore
from engine.tasks.load import load_spec
from tests.conftest import REPO
from tests.gui.keystores import type_passphrase, work_always_on_the_cpu
from tests.integration.worker.helpers import Poster, events_of, tiny_spec
from tests.specs import write

LONG = tiny_spec(steps=12_000, checkpoint_every=2_000)   # minutes of training: outlives every step below
TIMEOUT_MS = 240_000


def _status_cli() -> str:
    done = subprocess.run([sys.executable, "-m", "engine", "status"], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _step(shell: Shell, task_id: int) -> int:
    """The step the app shows for ``task_id`` (its one state model drives the job panel)."""
    job = shell.tray.state.now.job
    if shell.dashboard is None or job is None or job.task_id != task_id:
        return 0
    return shell.dashboard.job_panel.bar.value()


@pytest.mark.slow
def test_the_work_outlives_the_app_and_a_killed_service_resumes_to_the_same_root(
        qtbot, qapp, tmp_path: Path, chain, deployment, accounts, market_for, no_service_left) -> None:
    reference: dict[str, str] = {}

    def train_reference() -> None:  # the uninterrupted root, computed meanwhile in this process
        from engine.training.trainer import Trainer

        folder = tmp_path / "reference"
        folder.mkdir()
        reference["root"] = Trainer(load_spec(write(folder / "spec.json", LONG)), folder / "job").run().merkle_root

    with BlobServer(tmp_path / "server-blobs") as server:
        save_network(NetworkSettings(rpc_url=chain.provider.endpoint_uri, market_address=deployment.market_address,
                                     blob_url=server.url, confirmations=0))
        work_always_on_the_cpu(tmp_path / "wallet.json")
        task_id = Poster(market_for(accounts[0]), HttpStore(server.url)).post(LONG)
        referee = threading.Thread(target=train_reference, daemon=True)
        referee.start()

        # 1. start the app: it starts the service (the user types the keystore's passphrase) and the job trains
        first = Shell(qapp, gpu_backend=None, quit_app=False)
        QTimer.singleShot(100, type_passphrase)
        first.start()
        qtbot.waitUntil(lambda: _step(first, task_id) > 0, timeout=TIMEOUT_MS)
        service_pid = int(client.request("status")["pid"])
        assert service_pid != os.getpid()

        # 2. quit the app: the service goes on training, and `idlegrid status` shows the job
        with qtbot.waitSignal(first.quit_finished, timeout=60_000):
            qapp.quit_requested.emit()
        step_at_quit = int(client.request("status")["job"]["step"] or 0)
        qtbot.waitUntil(lambda: int(client.request("status")["job"]["step"] or 0) > step_at_quit, timeout=TIMEOUT_MS)
        shown = _status_cli()
        assert f"pid {service_pid}" in shown and "state: working" in shown and f"job: task {task_id} " in shown

        # 3. reopen the app: the same service, and the dashboard shows the same job at once
        second = Shell(qapp, gpu_backend=None, quit_app=False)
        QTimer.singleShot(100, type_passphrase)
        events: list[EngineEvent] = []
        second.bridge.event.connect(events.append)
        second.start()
        qtbot.waitUntil(lambda: _step(second, task_id) > 0, timeout=60_000)
        assert int(client.request("status")["pid"]) == service_pid

        # 4. kill -9 the service: the app says so, starts it again, and the job resumes
        os.kill(service_pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: any(e.kind is Kind.STATE and e.message == STATUS_STOPPED for e in events),
                        timeout=60_000)
        qtbot.waitUntil(lambda: client.is_running() and int(client.request("status")["pid"]) != service_pid,
                        timeout=TIMEOUT_MS)
        assert second.host.restarts == 1
        resumed_at = len(events)
        qtbot.waitUntil(lambda: any(e.kind is Kind.PROGRESS and e.task_id == task_id for e in events[resumed_at:]),
                        timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: bool(events_of(market_for(accounts[0]), ResultSubmitted, task_id)),
                        timeout=4 * TIMEOUT_MS)
        (submitted,) = events_of(market_for(accounts[0]), ResultSubmitted, task_id)
        referee.join(TIMEOUT_MS / 1000)
        assert "0x" + submitted.merkle_root.hex() == reference["root"]

        with qtbot.waitSignal(second.quit_finished, timeout=120_000):
            second.quit(stop_service=True)           # "Quit and stop earning"
        assert not client.is_running()
