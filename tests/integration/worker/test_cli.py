"""``idlegrid worker`` as a user runs it: a real subprocess on the devnet's deployment file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.devnet import Deployment, deployment_file
from engine.chain.market import ResultSubmitted, TaskClaimed, TaskStatus
from engine.config import paths
from engine.training.jobdir import JobDir
from tests.conftest import REPO
from tests.integration.worker.helpers import WINDOW, events_of, tiny_spec

IDLEGRID = [sys.executable, "-m", "engine"]


def idlegrid(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IDLEGRID, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_dev_account_without_devnet_is_refused() -> None:
    done = idlegrid("worker", "--dev-account", "1")
    assert done.returncode == 2
    assert "--dev-account works only with --devnet" in done.stderr


def test_without_a_wallet_the_error_says_how_to_create_one() -> None:
    done = idlegrid("worker")
    assert done.returncode != 0
    assert "no wallet is set up" in done.stderr and "idlegrid wallet create" in done.stderr


def test_without_a_devnet_the_error_says_how_to_start_one() -> None:
    done = idlegrid("worker", "--devnet", "--dev-account", "1")
    assert done.returncode != 0
    assert "idlegrid devnet" in done.stderr


def test_ctrl_c_checkpoints_and_a_restart_finishes_the_task_and_exits_after_max_tasks(
        chain, deployment, blob_server, poster, tmp_path: Path) -> None:
    Deployment(**{**deployment.__dict__, "rpc_url": chain.provider.endpoint_uri,
                  "blob_url": blob_server.url}).save(deployment_file())
    task_id = poster.post(tiny_spec(steps=400, checkpoint_every=100))
    job = JobDir(paths().jobs_dir / f"31337-{poster.market.address[:10]}-{task_id}")
    manifest = job.manifest_path
    argv = [*IDLEGRID, "worker", "--devnet", "--dev-account", "1", "--ignore-idle", "--max-tasks", "1"]
    log = tmp_path / "worker.log"

    first = start(argv, log)
    try:
        wait_until(lambda: manifest.is_file() and len(job.read_manifest().leaves) >= 2, first)  # with leaves.log
        first.send_signal(signal.SIGINT)
        assert first.wait(60) == 0
    finally:
        kill(first)
    text = log.read_text()
    assert "claimed task" in text and "working | task" in text and "step " in text
    assert "worker: jobs this run: 1 training" in text
    assert json.loads(manifest.read_text())["result"] is None

    second = start(argv, log)
    try:
        wait_until(lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED, second)
        time_travel(chain, WINDOW + 1)
        assert second.wait(60) == 0
    finally:
        kill(second)
    text = log.read_text()
    assert f"task {task_id} paid" in text
    assert "worker: pending 0 ETH, claimable 0.55 ETH" in text
    assert len(events_of(poster.market, TaskClaimed, task_id)) == 1
    assert len(events_of(poster.market, ResultSubmitted, task_id)) == 1


def start(argv: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("a") as out:
        return subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def wait_until(condition, proc: subprocess.Popen[str], timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the worker exited with {proc.returncode}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
