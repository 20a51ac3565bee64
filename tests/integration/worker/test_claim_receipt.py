"""A claim that was mined although its sender saw no receipt for it (a node may count the nonce
before it serves the receipt) is adopted on the next turn and trained, not dropped as
"not claimed" while the chain holds it claimed by this worker until it expires and slashes it."""

from __future__ import annotations

from engine.chain.market import TaskMarket, TaskStatus
from engine.chain.rpc import connect
from engine.chain.sender import SendPolicy
from engine.worker import ROLE, Worker
from engine.worker.config import WorkerConfig
from tests.integration.worker.helpers import CPU, drive, quiet_policy
from tests.rpcproxy import RpcProxy


def test_a_mined_claim_without_a_receipt_is_adopted_and_trained(anvil_node, deployment, accounts, store, history,
                                                               poster, tmp_path) -> None:
    task_id = poster.post()
    # the claim's first two receipt polls say "none yet" while the nonce count has moved, and no
    # grace: its sender reports the nonce taken by another transaction
    proxy = RpcProxy(anvil_node.url, late_receipts=4).start()
    try:
        market = TaskMarket(connect(proxy.url), deployment.market_address, accounts[1],
                            policy=SendPolicy(nonce_grace_s=0.0))
        config = WorkerConfig(ignore_idle=True, device="cpu", poll_s=0.05, controller_poll_s=0.05,
                              progress_every_s=0.1, jobs_dir=tmp_path / "jobs", blob_cache_dir=tmp_path / "cache")
        worker = Worker(market, store, history, config=config, gpu_backend=CPU(), policy=quiet_policy(),
                        user_idle=lambda: None, on_battery=lambda: None)
        drive(worker, lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED)
    finally:
        proxy.kill()
    job = history.job(worker.chain_id, worker.market.address, task_id, ROLE)
    assert job.state == "committed" and set(job.txs) == {"claim", "commit"}
