"""The lifecycle on a 2 s block-time chain whose recent blocks are reorganised away.

The worker's claim, commit and payout (finalize) are each mined and then orphaned, by reorgs
of depth 1, 2 and 3 (``anvil_reorg``, which drops the blocks' transactions as a real reorg
may). The profile asks for 3 confirmations, so the worker counts none of them until it is 3
blocks deep, sees it vanish and sends the very same signed transaction again. The task ends
paid, each event appears once, the worker signed exactly one transaction per step, and the
ledger balances to the wei.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from engine.chain.anvil import Anvil, AnvilConfig, free_port, time_travel
from engine.chain.market import (
    ResultSubmitted,
    TaskClaimed,
    TaskFinalized,
    TaskMarket,
    TaskStatus,
)
from engine.chain.rpc import connect
from engine.storage.server import BlobServer
from tests.e2e.actors import HONEST, REQUESTER
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.procs import Procs, wait_until
from tests.e2e.realchain import Orphan, Reorgs, deploy, home, passphrase_file, post
from tests.e2e.specs import REWARD, WINDOW, tiny_digits

PLAN = {0: 1, 1: 2, 2: 3}   # the worker's nonce -> the depth of the reorg that orphans it (claim, commit, finalize)


def worker_steps(w3: Web3, address: str) -> list[Orphan]:
    """The planned reorgs: each of the worker's transactions orphaned as soon as it is mined."""
    def mined(nonce: int) -> Callable[[], bool]:
        return lambda: w3.eth.get_transaction_count(address) == nonce + 1

    def gone(nonce: int) -> Callable[[], bool]:
        return lambda: w3.eth.get_transaction_count(address) == nonce

    return [Orphan(str(nonce), depth, mined(nonce), gone(nonce)) for nonce, depth in PLAN.items()]


@dataclass
class Run:
    market: TaskMarket
    task_id: int
    report: LedgerReport
    reorgs: Reorgs
    worker_nonce: int


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("reorgs")
    procs = Procs(root / "logs")
    anvil = Anvil(AnvilConfig(port=free_port(), block_time=2, log_file=root / "anvil.log")).start()
    blobs = BlobServer(root / "blobs").start()
    try:
        yield play(root, procs, connect(anvil.url), anvil.url, blobs.url)
    finally:
        procs.close()
        blobs.stop()
        anvil.stop()


def play(root, procs: Procs, w3: Web3, url: str, blob_url: str) -> Run:
    requester, worker = home(root, "requester", REQUESTER), home(root, "honest", HONEST)
    address, _ = deploy(requester, [worker], ["--rpc", url, "--name", "reorgchain", "--blob-url", blob_url,
                                              "--confirmations", "3", "--use"])
    market = TaskMarket(w3, address)
    ledger = Ledger(market, {"requester": requester.address, "honest": worker.address})
    task_id = post(requester, tiny_digits("reorg-digits", seed=2), root)

    reorgs = Reorgs(w3, worker_steps(w3, worker.address))
    try:
        procs.idlegrid("honest", worker, "worker", "--ignore-idle", "--auto-withdraw",
                       "--passphrase-file", str(passphrase_file(worker)))
        wait_until(lambda: market.get_task(task_id).status == TaskStatus.SUBMITTED and "1" in reorgs.done, 300,
                   "the worker to commit through two reorgs", procs=procs)
        time_travel(w3, WINDOW + 1)
        wait_until(lambda: market.get_task(task_id).status == TaskStatus.FINALIZED and "2" in reorgs.done, 240,
                   "the task to finalize through a reorg", procs=procs)
        wait_until(lambda: market.credits(worker.address) == 0, 120, "the worker to withdraw", procs=procs)
    finally:
        reorgs.stop()
    procs.stop_all()
    return Run(market, task_id, ledger.report(), reorgs, w3.eth.get_transaction_count(worker.address))


def test_claim_commit_and_payout_were_each_orphaned_by_reorgs_of_depth_1_to_3(run: Run) -> None:
    assert run.reorgs.done == {str(nonce): depth for nonce, depth in PLAN.items()}
    assert all(run.reorgs.orphaned.values()) and len(run.reorgs.orphaned) == len(PLAN), run.reorgs.orphaned


def test_nothing_was_lost_or_doubled(run: Run) -> None:
    for cls in (TaskClaimed, ResultSubmitted, TaskFinalized):
        assert len(run.market.task_events(cls, run.task_id)) == 1, cls.__name__
    assert run.worker_nonce == 4   # claim, commit, finalize, withdraw: one transaction each


def test_the_honest_worker_is_paid_and_the_ledger_balances(run: Run) -> None:
    assert run.report.imbalance == 0, run.report.table()
    assert run.report.gained("honest") == REWARD, run.report.table()
