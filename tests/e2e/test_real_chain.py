"""The lifecycle on a chain that behaves like a public one, run from a network profile.

A fresh anvil mines a block every 2 s (no automine). ``idlegrid network deploy`` deploys
TaskMarket through two provider-like proxies that refuse ``eth_getLogs`` over 10 blocks, and
writes the profile the requester uses; the worker's home gets it with ``idlegrid network add``.
Both sign with a keystore wallet: no ``--devnet``, no devnet deployment anywhere. Once the task
is claimed, the first endpoint dies and the base fee jumps to 10x (held there for longer than
the sender's receipt timeout): the worker's commit, priced for the old fee, is stuck and must be
replaced (same nonce, a higher fee under the profile's ceiling). The honest worker is then paid
and withdraws, and the ledger balances to the wei.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from engine.chain.anvil import rpc, time_travel
from engine.chain.market import ResultSubmitted, TaskMarket, TaskStatus
from tests.e2e.actors import HONEST, REQUESTER
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.procs import Procs, wait_until
from tests.e2e.realchain import BASE_FEE, GWEI, SPIKE, BaseFee, deploy, home, passphrase_file, post, real_chain_stage
from tests.e2e.specs import REWARD, WINDOW, tiny_digits
from tests.rpcproxy import RpcProxy

SPIKE_SECONDS = 45          # longer than the sender's 30 s receipt timeout: the commit must be replaced
CEILING_GWEI = 100


@dataclass
class Run:
    w3: Web3
    market: TaskMarket
    task_id: int
    report: LedgerReport
    commit_tx: dict
    proxies: list[RpcProxy]
    homes: dict[str, Path]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("realchain")
    with real_chain_stage(root) as stage:
        yield play(root, stage.procs, stage.w3, stage.blob_url, stage.proxies, stage.fee)


def play(root: Path, procs: Procs, w3: Web3, blob_url: str, proxies: list[RpcProxy], fee: BaseFee) -> Run:
    requester, worker = home(root, "requester", REQUESTER), home(root, "honest", HONEST)
    endpoints = [a for p in proxies for a in ("--rpc", p.url)]
    address, _ = deploy(requester, [worker], [*endpoints, "--name", "testchain", "--blob-url", blob_url,
                                              "--max-fee-gwei", str(CEILING_GWEI), "--confirmations", "1", "--use"])
    market = TaskMarket(w3, address)
    rpc(w3, "anvil_mine", hex(40))   # some history: a scan from the deploy block spans more than 10 blocks
    ledger = Ledger(market, {"requester": requester.address, "honest": worker.address})
    task_id = post(requester, tiny_digits("realchain-digits", seed=1), root)

    procs.idlegrid("honest", worker, "worker", "--ignore-idle", "--auto-withdraw",
                   "--passphrase-file", str(passphrase_file(worker)))
    wait_until(lambda: market.get_task(task_id).status == TaskStatus.CLAIMED, 240, "the worker to claim",
               procs=procs)
    proxies[0].kill()                       # the first endpoint dies mid-job
    fee.target = SPIKE                      # and the base fee jumps 10x
    spiked_at = time.monotonic()
    wait_until(lambda: market.get_task(task_id).status == TaskStatus.SUBMITTED, 240,
               "the worker to commit through the spike", procs=procs)
    time.sleep(max(0.0, SPIKE_SECONDS - (time.monotonic() - spiked_at)))
    fee.target = BASE_FEE
    (submitted,) = market.task_events(ResultSubmitted, task_id)
    commit_tx = dict(w3.eth.get_transaction(submitted.tx_hash))
    time_travel(w3, WINDOW + 1)
    wait_until(lambda: market.get_task(task_id).status == TaskStatus.FINALIZED, 180, "the task to finalize",
               procs=procs)
    wait_until(lambda: market.credits(worker.address) == 0, 120, "the worker to withdraw", procs=procs)
    procs.stop_all()
    return Run(w3, market, task_id, ledger.report(), commit_tx, proxies,
               {"requester": requester.home, "honest": worker.home})


def test_the_honest_worker_is_paid_and_the_ledger_balances(run: Run) -> None:
    assert run.report.imbalance == 0, run.report.table()
    assert run.report.gained("honest") == REWARD, run.report.table()
    assert run.report.gained("requester") == -REWARD, run.report.table()


def test_the_stuck_commit_was_replaced_under_the_ceiling_once(run: Run) -> None:
    assert run.commit_tx["maxFeePerGas"] > SPIKE                # priced for the spike: a replacement
    assert run.commit_tx["maxFeePerGas"] <= CEILING_GWEI * GWEI  # never above the profile's ceiling
    assert len(run.market.task_events(ResultSubmitted, run.task_id)) == 1


def test_the_dead_endpoint_was_failed_over_and_log_windows_narrowed(run: Run) -> None:
    assert run.proxies[1].requests > 0
    assert run.proxies[0].refused_ranges + run.proxies[1].refused_ranges > 0


def test_no_devnet_deployment_was_used(run: Run) -> None:
    for path in run.homes.values():
        assert not (path / "data" / "devnet" / "deployment.json").exists()
        assert (path / "config" / "networks" / "testchain.json").exists()
