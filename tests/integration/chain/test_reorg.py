"""A transaction whose block is orphaned by a reorg is neither lost nor doubled: the sender
counts a receipt only once ``confirmations`` blocks cover it, and sends the very same signed
bytes again (same hash, same nonce) when the receipt vanishes. Reorgs are real: anvil_reorg
drops the last N blocks and their transactions."""

from __future__ import annotations

import threading

import pytest
from web3 import Web3

from engine.chain.anvil import mine, rpc
from engine.chain.market import TaskMarket, TaskStatus
from engine.chain.sender import Sender, SendPolicy
from tests.e2e.procs import wait_until
from tests.integration.chain.actions import post
from tests.integration.chain.test_sender import ONE_ETH, transfer

DEEP = 3


def in_thread(work) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["result"] = work()
        except Exception as e:  # handed to the test, which fails on it
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def reorg_after_mined(chain: Web3, address: str, nonce: int, depth: int, thread: threading.Thread) -> None:
    """Once ``address``'s nonce ``nonce`` is mined, build ``depth - 1`` blocks on it, orphan all
    ``depth`` (anvil_reorg), then keep mining until the sender is done."""
    wait_until(lambda: chain.eth.get_transaction_count(address) > nonce, 30, "the transaction to be mined")
    mine(chain, depth - 1)
    tip = chain.eth.block_number
    rpc(chain, "anvil_reorg", depth, [])
    # The reorg took it away: the new blocks up to the old tip lack it. (Asked at that height,
    # not at "latest": the sender may already have sent it again and had it mined after them.)
    assert chain.eth.get_transaction_count(address, tip) == nonce
    while thread.is_alive():
        mine(chain)
        thread.join(0.2)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_transfer_orphaned_by_a_reorg_is_sent_again_once(chain: Web3, accounts, depth: int) -> None:
    sender = Sender(chain, accounts[1], SendPolicy(confirmations=DEEP, poll_interval=0.05, receipt_timeout=10))
    to = accounts[2].address
    before, nonce = chain.eth.get_balance(to), chain.eth.get_transaction_count(accounts[1].address)
    prepared = sender.prepare(transfer(to), function="transfer")
    sender.broadcast(prepared)
    thread, out = in_thread(lambda: sender.wait(prepared))
    reorg_after_mined(chain, accounts[1].address, nonce, depth, thread)
    assert "error" not in out, out.get("error")
    receipt = out["result"]
    assert receipt["transactionHash"].to_0x_hex() == prepared.tx_hash   # the same signed bytes
    assert chain.eth.block_number - receipt["blockNumber"] >= DEEP
    assert chain.eth.get_balance(to) - before == ONE_ETH                 # paid once: not lost, not doubled
    assert chain.eth.get_transaction_count(accounts[1].address) == nonce + 1


@pytest.mark.parametrize("depth", [1, 3])
def test_a_claim_orphaned_by_a_reorg_is_claimed_again_by_the_same_worker(chain: Web3, accounts, deployment,
                                                                          depth: int) -> None:
    task_id = post(TaskMarket(chain, deployment.market_address, accounts[1]))
    worker = TaskMarket(chain, deployment.market_address, accounts[2],
                        policy=SendPolicy(confirmations=DEEP, poll_interval=0.05, receipt_timeout=10))
    nonce = chain.eth.get_transaction_count(accounts[2].address)
    thread, out = in_thread(lambda: worker.claim_task(task_id).send())
    reorg_after_mined(chain, accounts[2].address, nonce, depth, thread)
    assert "error" not in out, out.get("error")
    task = worker.get_task(task_id)
    assert task.status == TaskStatus.CLAIMED and task.worker == accounts[2].address
    assert chain.eth.get_transaction_count(accounts[2].address) == nonce + 1   # one claim transaction
