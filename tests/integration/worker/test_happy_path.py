"""One task from post to payout with the real chain, blob server, history and runner."""

from __future__ import annotations

import pytest

from engine.chain.anvil import time_travel
from engine.chain.market import ResultSubmitted, TaskClaimed, TaskStatus
from engine.commit.merkle import MerkleTree
from engine.events import EngineState, Kind
from engine.network.gas import EXPECTED_JOB_GAS
from engine.roles.results import ResultManifest, parse_blob_uri
from engine.training.determinism import arithmetic
from engine.worker import PAID, ROLE, WorkerError
from tests.integration.worker.helpers import REWARD, STAKE, WINDOW, Recorder, drive, events_of

DRIFT = 0.2   # how far EXPECTED_JOB_GAS may be from a real job's gas before the worker's gas check misjudges


def test_a_task_is_claimed_trained_committed_and_paid_to_the_wei_for_the_gas_the_worker_budgets(
        make_worker, poster, history, store, chain, accounts) -> None:
    me = accounts[1].address
    balance_before = chain.eth.get_balance(me)
    task_id = poster.post()
    events = Recorder()
    worker = make_worker(listener=events)

    drive(worker, lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED)

    (submitted,) = events_of(poster.market, ResultSubmitted, task_id)
    assert len(events_of(poster.market, TaskClaimed, task_id)) == 1
    manifest = ResultManifest.from_bytes(store.get_bytes(parse_blob_uri(submitted.result_uri)))
    leaves = [bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves]
    assert submitted.merkle_root == MerkleTree(leaves).root and submitted.num_leaves == len(leaves) == 5
    assert manifest.merkle_root == "0x" + submitted.merkle_root.hex()
    assert all(store.has(leaf.blob) for leaf in manifest.leaves)
    assert manifest.device == "cpu"  # what the runner reported: exact-mode verifiers replay on the same type
    assert manifest.arithmetic == arithmetic("cpu")  # ... and judge only with the same arithmetic
    assert any(e.kind is Kind.PROGRESS for e in events)
    assert not worker.step()  # the challenge window is open: nothing to do
    assert worker.withdraw_gas_estimate() == 0
    with pytest.raises(WorkerError, match="nothing to withdraw"):
        worker.withdraw()

    time_travel(chain, WINDOW + 1)
    drive(worker, lambda: history.job(worker.chain_id, worker.market.address, task_id, ROLE).state == PAID)

    job = history.job(worker.chain_id, worker.market.address, task_id, ROLE)
    assert (job.outcome, job.reward, job.stake, job.merkle_root) == ("paid", REWARD, STAKE, manifest.merkle_root)
    assert set(job.txs) == {"claim", "commit", "finalize"}
    assert worker.market.credits(me) == REWARD + STAKE
    earnings = history.earnings(worker.chain_id, worker.market.address)
    assert earnings.claimable == REWARD + STAKE and earnings.pending == 0
    assert balance_before - chain.eth.get_balance(me) == STAKE + earnings.gas_paid  # gas exact to the wei
    assert any(e.kind is Kind.NOTICE and "paid" in e.message for e in events)

    assert 0 < worker.withdraw_gas_estimate() < 10**15
    tx = worker.withdraw()
    assert tx.startswith("0x") and worker.market.credits(me) == 0
    after = history.earnings(worker.chain_id, worker.market.address)
    assert after.withdrawn == REWARD + STAKE and after.claimable == 0
    assert chain.eth.get_balance(me) == balance_before + REWARD - after.gas_paid
    assert worker.status().state in (EngineState.WAITING, EngineState.WORKING)

    # What the worker skips tasks by (engine/network/gas.py) is what a real job's receipts say it costs.
    used = sum(chain.eth.get_transaction_receipt(h)["gasUsed"] for h in [*job.txs.values(), tx])
    assert abs(EXPECTED_JOB_GAS - used) <= DRIFT * used, f"a job used {used} gas, the worker budgets {EXPECTED_JOB_GAS}"
