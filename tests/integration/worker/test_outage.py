"""The node goes away mid-job (its own anvil, stopped and restarted on its saved state): the
worker says it waits for the network, then carries on where it was."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from engine.chain.anvil import Anvil, AnvilConfig, free_port
from engine.chain.devnet import DEV_KEYS, deploy_market
from engine.chain.market import ResultSubmitted, TaskMarket
from engine.chain.rpc import RetryPolicy, connect
from engine.events import EngineState
from engine.worker import COMMITTED, NETWORK_DOWN, ROLE, TRAINED, Worker
from engine.worker.config import WorkerConfig
from tests.integration.worker.helpers import CPU, Poster, drive, events_of, quiet_policy

FAST = RetryPolicy(attempts=2, first_delay=0.1)


def test_the_worker_waits_for_the_network_and_goes_on_when_the_node_is_back(
        tmp_path: Path, store, history) -> None:
    config = AnvilConfig(port=free_port(), state_file=tmp_path / "anvil-state.json", log_file=tmp_path / "anvil.log")
    node = Anvil(config).start()
    try:
        w3 = connect(node.url, policy=FAST)
        requester, me = Account.from_key(DEV_KEYS[0]), Account.from_key(DEV_KEYS[1])
        address = deploy_market(w3, requester, rpc_url=node.url).market_address
        task_id = Poster(TaskMarket(w3, address, requester), store).post()
        worker = Worker(TaskMarket(w3, address, me), store, history,
                        config=WorkerConfig(ignore_idle=True, device="cpu", poll_s=0.05, controller_poll_s=0.05,
                                            jobs_dir=tmp_path / "jobs", blob_cache_dir=tmp_path / "cache"),
                        gpu_backend=CPU(), policy=quiet_policy(), user_idle=lambda: None, on_battery=lambda: None)
        job = lambda: history.job(worker.chain_id, address, task_id, ROLE)  # noqa: E731
        drive(worker, lambda: job() is not None and job().state == TRAINED)

        node.stop()
        assert worker.step() is False
        assert (worker.status().state, worker.status().reason) == (EngineState.WAITING, NETWORK_DOWN)
        assert job().state == TRAINED

        node = Anvil(config).start()
        drive(worker, lambda: job().state == COMMITTED, timeout=60)
        assert len(events_of(worker.market, ResultSubmitted, task_id)) == 1
    finally:
        node.stop()
