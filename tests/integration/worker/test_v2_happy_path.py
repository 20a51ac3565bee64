"""One task from post to payout on TaskMarket v2, with the real chain, blob server, history and
runner: the worker claims, trains, commits, waits out the window, finalizes and withdraws; the
requester paid reward + verification fee, the worker earns the reward (the payment less the fee),
both to the wei. v1's pattern is test_happy_path.py."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from eth_account.signers.local import LocalAccount

from engine.chain.anvil import time_travel
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, payment_for
from engine.chain.records_v2 import DataAnswered, DataDemanded, DataFault, ResultSubmitted, TaskPosted, TaskStatusV2
from engine.history import History
from engine.roles.results import ResultManifest, parse_blob_uri
from engine.storage import HttpStore
from engine.tasks.load import canonical_json, check, parse
from engine.worker import PAID, ROLE, Worker
from engine.worker.config import WorkerConfig
from tests.integration.worker.helpers import CPU, REWARD, STAKE, WINDOW, drive, events_of, quiet_policy, tiny_spec


def cpu_worker(market: TaskMarketV2, store: HttpStore, history: History, tmp_path: Path) -> Worker:
    return Worker(market, store, history, gpu_backend=CPU(), policy=quiet_policy(), user_idle=lambda: None,
                  on_battery=lambda: None,
                  config=WorkerConfig(ignore_idle=True, device="cpu", poll_s=0.05, controller_poll_s=0.05,
                                      progress_every_s=0.1, jobs_dir=tmp_path / "jobs",
                                      blob_cache_dir=tmp_path / "cache"))


def post(requester: TaskMarketV2, store: HttpStore) -> tuple[int, int, int]:
    """A tiny spec posted with REWARD for the worker: (task id, payment, the post's gas in wei)."""
    raw = canonical_json(check(parse(tiny_spec())).spec)
    sha = store.put_bytes(raw)
    payment = payment_for(REWARD, DEVNET_PARAMS_V2["auditFeeBps"])
    receipt = requester.post_task(hashlib.sha256(raw).digest(), f"blob:{sha}", payment=payment, worker_stake=STAKE,
                                  claim_timeout=3600, train_timeout=7200, challenge_window=WINDOW).send()
    (posted,) = [e for e in requester.events_in(receipt) if isinstance(e, TaskPosted)]
    return posted.task_id, payment, receipt["gasUsed"] * receipt["effectiveGasPrice"]


def test_a_v2_task_is_trained_committed_finalized_and_paid_to_the_wei(
        v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], store: HttpStore,
        history: History, chain, tmp_path: Path) -> None:
    requester, market = v2_for(accounts[0]), v2_for(accounts[1])
    me, poster = accounts[1].address, accounts[0].address
    worker_before, poster_before = chain.eth.get_balance(me), chain.eth.get_balance(poster)

    task_id, payment, post_gas = post(requester, store)
    task = market.get_task(task_id)
    assert task.worker_pay == REWARD and task.verification_fee == payment - REWARD

    worker = cpu_worker(market, store, history, tmp_path)
    drive(worker, lambda: market.get_task(task_id).status == TaskStatusV2.SUBMITTED)
    (submitted,) = events_of(market, ResultSubmitted, task_id)
    job = history.job(worker.chain_id, market.address, task_id, ROLE)
    assert job.detail["window_end"] == market.event_deadline(submitted)   # computed: v2's event has none
    assert not worker.step()  # the window is open: nothing to do

    time_travel(chain, WINDOW + 1)
    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == PAID)
    job = history.job(worker.chain_id, market.address, task_id, ROLE)
    assert (job.outcome, job.reward, job.stake) == ("paid", REWARD, STAKE)
    assert set(job.txs) == {"claim", "commit", "finalize"}
    assert market.credits(me) == REWARD + STAKE
    earnings = history.earnings(worker.chain_id, market.address)
    assert earnings.claimable == REWARD + STAKE

    worker.withdraw()
    after = history.earnings(worker.chain_id, market.address)
    assert after.withdrawn == REWARD + STAKE and market.credits(me) == 0
    assert chain.eth.get_balance(me) == worker_before + REWARD - after.gas_paid          # the worker, to the wei
    assert chain.eth.get_balance(poster) == poster_before - payment - post_gas           # the requester, to the wei
    assert market.get_task(task_id).status == TaskStatusV2.FINALIZED
    assert chain.eth.get_balance(market.address) == task.verification_fee  # the fee waits for closeAudit


def test_the_worker_answers_a_data_demand_on_its_v2_result_and_is_paid_with_the_bond(
        v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], store: HttpStore,
        history: History, chain, tmp_path: Path) -> None:
    """The one v2-only duty: a demand for checkpoint i is answered with leaf i, its proof against the
    committed root and its blob, within responsePeriod; the demander's bond goes to the worker."""
    requester, market, demander = v2_for(accounts[0]), v2_for(accounts[1]), v2_for(accounts[3])
    task_id, _, _ = post(requester, store)
    worker = cpu_worker(market, store, history, tmp_path)
    drive(worker, lambda: market.get_task(task_id).status == TaskStatusV2.SUBMITTED)
    bond = market.params().min_challenge_bond
    (demanded,) = [e for e in demander.events_in(demander.demand_data(task_id, 2).send())
                   if isinstance(e, DataDemanded)]
    assert market.get_task(task_id).open_disputes == 1

    drive(worker, lambda: bool(events_of(market, DataAnswered, task_id)))
    (answered,) = events_of(market, DataAnswered, task_id)
    task = market.get_task(task_id)
    assert (answered.demand_id, answered.index, task.open_disputes) == (demanded.demand_id, 2, 0)
    (submitted,) = events_of(market, ResultSubmitted, task_id)
    leaf = ResultManifest.from_bytes(store.get_bytes(parse_blob_uri(submitted.result_uri))).leaves[2]
    assert (answered.leaf.hex(), answered.blob.hex()) == (leaf.leaf_hash, leaf.blob)  # checkpoint 2 and its blob
    assert chain.eth.get_block(answered.block_number)["timestamp"] <= demanded.deadline
    assert market.credits(accounts[1].address) == bond
    earnings = history.earnings(worker.chain_id, market.address)   # the ledger's own figures
    assert (earnings.claimable, earnings.by_kind["demand_bond"]) == (bond, bond)

    time_travel(chain, WINDOW + 1)
    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == PAID)
    assert market.credits(accounts[1].address) == bond + REWARD + STAKE
    earnings = history.earnings(worker.chain_id, market.address)
    assert (earnings.claimable, earnings.earned, earnings.returned) == (bond + REWARD + STAKE, bond + REWARD, STAKE)


def test_a_demand_left_unanswered_is_booked_as_slashed_with_the_fault_that_took_the_stake(
        v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], store: HttpStore,
        history: History, chain, tmp_path: Path) -> None:
    """The worker is away past responsePeriod: anyone claims the fault, the stake goes to the
    demander and the task reopens; back, the worker books the stake as slashed, with DataFault's tx."""
    requester, market, demander = v2_for(accounts[0]), v2_for(accounts[1]), v2_for(accounts[3])
    task_id, _, _ = post(requester, store)
    worker = cpu_worker(market, store, history, tmp_path)
    drive(worker, lambda: market.get_task(task_id).status == TaskStatusV2.SUBMITTED)
    (demanded,) = [e for e in demander.events_in(demander.demand_data(task_id, 1).send())
                   if isinstance(e, DataDemanded)]
    time_travel(chain, market.params().response_period + 1)
    (fault,) = [e for e in requester.events_in(requester.claim_data_fault(demanded.demand_id).send())
                if isinstance(e, DataFault)]
    assert market.get_task(task_id).status == TaskStatusV2.OPEN

    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "slashed")
    assert history.job(worker.chain_id, market.address, task_id, ROLE).outcome == "slashed"
    assert history.earnings(worker.chain_id, market.address).slashed == STAKE
    # booked under DataFault's tx: the same movement recorded again with that hash counts once
    history.add_ledger(worker.chain_id, market.address, task_id, "slashed", STAKE, tx_hash=fault.tx_hash)
    assert history.earnings(worker.chain_id, market.address).slashed == STAKE
    assert not events_of(market, DataAnswered, task_id) and market.credits(accounts[1].address) == 0
