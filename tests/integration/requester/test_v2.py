"""The requester on TaskMarket v2: the payment escrowed is the reward plus the verification fee,
an exact-mode spec posts its arithmetic, cancel refunds the whole payment, close-audit returns the
unearned fee, and status reads a v2 task. v1's behaviour is the other files' business (unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.anvil import time_travel
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, arithmetic_id, payment_for, verification_fee
from engine.chain.records_v2 import TaskStatusV2
from engine.commit.merkle import MerkleTree
from engine.history import History
from engine.requester import Requester, RequesterError
from engine.storage import BlobServer, HttpStore, LocalStore
from tests.specs import quick_mlp, write

REWARD = 5 * 10**16  # 0.05 ETH for the worker
FEE_BPS = DEVNET_PARAMS_V2["auditFeeBps"]


@pytest.fixture
def requester_v2(v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount],
                 blob_server: BlobServer, history: History, tmp_path: Path) -> Requester:
    return Requester(v2_for(accounts[1]), HttpStore(blob_server.url), history,
                     local=LocalStore(tmp_path / "local-blobs"))


def v2(requester: Requester) -> TaskMarketV2:
    assert isinstance(requester.market, TaskMarketV2)
    return requester.market


def test_a_v2_post_escrows_the_reward_plus_the_verification_fee(
        requester_v2: Requester, history: History, tmp_path: Path) -> None:
    market = v2(requester_v2)
    me = requester_v2.address
    wallet, escrow = market.balance(me), market.balance(market.address)
    task_id = requester_v2.post(write(tmp_path / "spec.json", quick_mlp()), reward=REWARD)

    payment = payment_for(REWARD, FEE_BPS)
    task = market.get_task(task_id)
    assert payment > REWARD and task.reward == payment
    assert task.verification_fee == verification_fee(payment, FEE_BPS) and task.worker_pay >= REWARD
    assert task.arithmetic == 0 and task.status is TaskStatusV2.OPEN      # tolerance mode
    job = history.job(requester_v2.chain_id, market.address, task_id, "requester")
    assert market.balance(market.address) == escrow + payment
    assert market.balance(me) == wallet - payment - job.gas_paid             # to the wei
    assert job.reward == payment and job.state == "open"
    posted_at = market.clock.timestamp(job.detail["posted_block"])
    assert job.detail["claim_deadline"] == posted_at + task.claim_timeout  # v2's event has none: computed
    (view,) = requester_v2.status(task_id)
    assert (view.state, view.reward, view.worker, view.dispute) == ("open", payment, None, None)


def test_an_exact_mode_spec_posts_its_arithmetic(requester_v2: Requester, tmp_path: Path) -> None:
    name = "cpu:x86_64:fp32-test"
    spec = write(tmp_path / "spec.json", quick_mlp(verification={"mode": "exact", "arithmetic": name}))
    task = v2(requester_v2).get_task(requester_v2.post(spec, reward=REWARD))
    assert task.arithmetic == arithmetic_id(name) != 0


def test_cancel_on_v2_credits_back_the_whole_payment(requester_v2: Requester, tmp_path: Path) -> None:
    task_id = requester_v2.post(write(tmp_path / "spec.json", quick_mlp()), reward=REWARD)
    requester_v2.cancel(task_id)
    assert requester_v2.credits() == payment_for(REWARD, FEE_BPS)
    assert requester_v2.status(task_id)[0].state == "cancelled"
    amount, _ = requester_v2.withdraw()
    assert amount == payment_for(REWARD, FEE_BPS)


def posted_and_submitted(requester: Requester, worker: TaskMarketV2, tmp_path: Path) -> int:
    """A task posted by ``requester``, claimed by ``worker`` and given a (made-up) result."""
    task_id = requester.post(write(tmp_path / "spec.json", quick_mlp()), reward=REWARD)
    tree = MerkleTree([bytes([i]) * 32 for i in range(6)])
    worker.claim_task(task_id).send()
    worker.submit_result(task_id, tree.root, len(tree), "blob:" + "ab" * 32).send()
    return task_id


def test_close_audit_returns_the_fee_no_auditor_earned(
        requester_v2: Requester, v2_for: Callable[[LocalAccount], TaskMarketV2],
        accounts: list[LocalAccount], tmp_path: Path) -> None:
    market = v2(requester_v2)
    worker = v2_for(accounts[2])
    task_id = posted_and_submitted(requester_v2, worker, tmp_path)
    assert requester_v2.status(task_id)[0].state == "submitted"
    task = market.get_task(task_id)
    time_travel(market.w3, task.challenge_window + 1)
    worker.finalize(task_id).send()
    with pytest.raises(RequesterError, match="auditors may reveal until"):  # before the contract would refuse
        requester_v2.close_audit(task_id)
    time_travel(market.w3, DEVNET_PARAMS_V2["revealPeriod"] + 1)
    refund, _ = requester_v2.close_audit(task_id)
    assert refund == task.verification_fee and requester_v2.credits() == task.verification_fee
    assert requester_v2.status(task_id)[0].state == "finalized"
    assert worker.credits(worker.sender_or_fail().address) == task.worker_pay + task.worker_stake


def test_close_audit_again_or_after_anyone_else_books_the_one_close_once(
        requester_v2: Requester, v2_for: Callable[[LocalAccount], TaskMarketV2],
        accounts: list[LocalAccount], history: History, tmp_path: Path) -> None:
    """closeAudit is open to all and succeeds once: a stranger closes it, and the requester's
    close (run twice) books that close's refund under its transaction, once, sending nothing."""
    market = v2(requester_v2)
    worker = v2_for(accounts[2])
    task_id = posted_and_submitted(requester_v2, worker, tmp_path)
    task = market.get_task(task_id)
    time_travel(market.w3, task.challenge_window + 1)
    worker.finalize(task_id).send()
    time_travel(market.w3, DEVNET_PARAMS_V2["revealPeriod"] + 1)
    stranger = v2_for(accounts[3]).close_audit(task_id).send()
    job = history.job(requester_v2.chain_id, market.address, task_id, "requester")
    assert [requester_v2.close_audit(task_id) for _ in range(2)] == [
        (task.verification_fee, "0x" + bytes(stranger["transactionHash"]).hex())] * 2
    earnings = history.earnings(requester_v2.chain_id, market.address)
    assert earnings.by_kind["refund"] == task.verification_fee == requester_v2.credits()
    assert history.job(requester_v2.chain_id, market.address, task_id, "requester").gas_paid == job.gas_paid


def test_close_audit_on_v1_is_refused_in_words(requester: Requester, tmp_path: Path) -> None:
    task_id = requester.post(write(tmp_path / "spec.json", quick_mlp()), reward=REWARD)
    with pytest.raises(RequesterError, match="TaskMarket v1, which has no verification fee"):
        requester.close_audit(task_id)
