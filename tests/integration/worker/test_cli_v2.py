"""``idlegrid worker --devnet`` on a v2 devnet deployment: the CLI opens the market, open_market
picks TaskMarketV2 from the code on chain, and the worker trains a v2 task to payment."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.devnet import Deployment, deployment_file
from engine.chain.records_v2 import TaskStatusV2
from tests.integration.worker.helpers import WINDOW
from tests.integration.worker.test_cli import kill, start, wait_until
from tests.integration.worker.test_v2_happy_path import post


def test_idlegrid_worker_trains_a_task_on_a_v2_devnet_to_payment(
        chain, deployment_v2, v2_for, accounts, blob_server, store, tmp_path: Path) -> None:
    Deployment(**{**deployment_v2.__dict__, "rpc_url": chain.provider.endpoint_uri,
                  "blob_url": blob_server.url}).save(deployment_file())
    requester = v2_for(accounts[0])
    task_id, _, _ = post(requester, store)
    log = tmp_path / "worker.log"
    worker = start([sys.executable, "-m", "engine", "worker", "--devnet", "--dev-account", "1", "--ignore-idle",
                    "--max-tasks", "1"], log)
    try:
        wait_until(lambda: requester.get_task(task_id).status == TaskStatusV2.SUBMITTED, worker)
        time_travel(chain, WINDOW + 1)
        assert worker.wait(60) == 0, log.read_text()
    finally:
        kill(worker)
    text = log.read_text()
    assert f"task {task_id} paid" in text and "worker: pending 0 ETH, claimable 0.55 ETH" in text, text
    assert requester.get_task(task_id).status == TaskStatusV2.FINALIZED
