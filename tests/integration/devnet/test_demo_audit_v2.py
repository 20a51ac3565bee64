"""A fresh `idlegrid devnet` pays its demo verifier for auditing the demo's first results.

A verifier's stake weighs in auditor draws from the epoch after it registered. The devnet used to
deploy v2 with hour-long epochs, so its demo verifier (registered when the devnet starts) was
never drawn, and never paid, for up to an hour. It now deploys minute-long epochs
(``DEVNET_EPOCH_S``), redeploys a devnet saved with other parameters, and the demo requester
posts only once the demo verifier's stake counts (``AuditGate``). The tests' own networks keep
DEVNET_PARAMS_V2's hour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from engine.chain.anvil import free_port, time_travel
from engine.chain.devkeys import dev_signer
from engine.chain.devnet import (
    DEV_KEYS,
    DEVNET_EPOCH_S,
    deploy_market_v2,
    deployment_file,
    devnet_dir,
    network_settings,
    start_devnet,
)
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, verification_fee
from engine.chain.records_v2 import TaskStatusV2
from engine.chain.rpc import connect
from engine.history import History, LedgerKind
from engine.requester.demo import DEMO_VERIFIER_ACCOUNT, AuditGate, DemoVerifier
from tests.integration.devnet.test_embedded import DEMO, REPO, start, stop, wait_for

WORKER_ACCOUNT = 2
DEMO_VERIFIER = Account.from_key(DEV_KEYS[DEMO_VERIFIER_ACCOUNT]).address
WORKER = Account.from_key(DEV_KEYS[WORKER_ACCOUNT]).address
SLOW = 600.0  # a generous bound for conditions that take a CPU training run and a 120 s window


def test_the_devnet_deploys_minute_epochs_and_redeploys_a_devnet_saved_with_hour_epochs() -> None:
    devnet = start_devnet(port=free_port())
    try:
        assert devnet.deployed_now
        market = TaskMarketV2(devnet.w3, devnet.deployment.market_address)
        assert market.params().epoch_length == DEVNET_EPOCH_S
        assert DEVNET_PARAMS_V2["epochLength"] == 3600  # what the tests' networks deploy stays
        old = deploy_market_v2(devnet.w3, Account.from_key(DEV_KEYS[0]), rpc_url=devnet.anvil.url)
        old.save(deployment_file())  # as the devnet recorded its deployment before
    finally:
        devnet.stop()
    devnet = start_devnet(port=free_port())
    try:
        assert devnet.deployed_now and devnet.deployment.market_address != old.market_address
        again = TaskMarketV2(devnet.w3, devnet.deployment.market_address)
        assert again.params().epoch_length == DEVNET_EPOCH_S
    finally:
        devnet.stop()
    devnet = start_devnet(port=free_port())  # a restart keeps the minute-epoch market
    try:
        assert not devnet.deployed_now and devnet.deployment.market_address == again.address
    finally:
        devnet.stop()


def test_the_gate_opens_in_the_first_epoch_the_demo_verifier_weighs_in_also_after_a_restart() -> None:
    devnet = start_devnet(port=free_port())
    try:
        market = TaskMarketV2(devnet.w3, devnet.deployment.market_address)
        said: list[str] = []
        gate = AuditGate(market, DemoVerifier(), say=said.append)
        assert not gate.is_open()  # not registered yet
        verifier = market.with_signer(dev_signer(DEMO_VERIFIER_ACCOUNT, devnet=True))
        verifier.register_verifier(market.min_stake_now()).send()
        assert not gate.is_open()  # registered in this epoch: draws in it do not see the stake
        assert said == [(f"demo requester: posting from the next epoch (in at most {DEVNET_EPOCH_S} s), "
                         "when the demo verifier's stake counts in audit draws")]
        time_travel(devnet.w3, DEVNET_EPOCH_S)
        assert gate.is_open()
        restarted = AuditGate(market, DemoVerifier())  # a devnet restart: registered long ago
        assert not restarted.is_open()  # conservative: from the epoch after it was seen registered
        time_travel(devnet.w3, DEVNET_EPOCH_S)
        assert restarted.is_open()
        verifier.unregister().send()
        assert AuditGate(market, DemoVerifier()).is_open()  # leaving the set: nothing to wait for
    finally:
        devnet.stop()


def worker_task(market: TaskMarketV2) -> int | None:
    """The demo task our worker submitted a result for (or got further with), if any."""
    for i in range(1, market.task_count() + 1):
        task = market.get_task(i)
        if task.requester == DEMO and task.worker == WORKER and task.status not in (
                TaskStatusV2.OPEN, TaskStatusV2.CLAIMED):
            return i
    return None


def audit_fees(market: TaskMarketV2) -> int:
    """The audit fees the demo verifier booked in its own history (the only worker trains one task)."""
    path = devnet_dir() / f"dev-account-{DEMO_VERIFIER_ACCOUNT}-history.sqlite3"
    history = History.open_read_only(path) if path.exists() else None
    if history is None:
        return 0
    try:
        return history.ledger_since(market.chain_id(), market.address, 0).get(LedgerKind.AUDIT_FEE, 0)
    finally:
        history.close()


@pytest.mark.slow
@pytest.mark.timeout(3 * SLOW)
def test_the_demo_verifier_audits_the_first_results_and_is_paid(tmp_path: Path) -> None:
    port = free_port()
    proc, _ = start("--port", str(port), "--blob-port", str(free_port()), "--demo-interval", "1", "--market", "v2")
    worker = None
    try:
        market = TaskMarketV2(connect(f"http://127.0.0.1:{port}"), network_settings().market_address)
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "engine", "worker", "--devnet", "--dev-account", str(WORKER_ACCOUNT),
             "--ignore-idle", "--max-tasks", "1"],
            cwd=REPO, env=os.environ.copy(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        task_id = wait_for(lambda: worker_task(market), timeout=SLOW)
        wait_for(lambda: market.get_audit(task_id).assigned, timeout=SLOW)
        assert market.auditors(task_id) == (DEMO_VERIFIER,), (tmp_path / "worker.log").read_text()
        fee = wait_for(lambda: audit_fees(market), timeout=SLOW)
        params, payment = market.params(), market.get_task(task_id).reward
        assert fee == verification_fee(payment, params.audit_fee_bps) // params.auditors_per_task
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(60)
        stop(proc)
