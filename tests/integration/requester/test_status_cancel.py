"""Status shows the chain's view of the requester's tasks; cancel works only while nobody claimed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.anvil import time_travel
from engine.chain.market import ETHER, TaskMarket
from engine.requester import NotCancellable, NotYourTask, Requester, RequesterError, UnknownTask
from tests.integration.chain.actions import challenge, checkpoint_tree, claim_and_submit
from tests.specs import quick_mlp, write

REWARD = 10**16


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write(tmp_path / "spec.json", quick_mlp())


def test_status_lists_only_this_wallets_tasks_newest_first(
        requester: Requester, spec: Path, market_for: Callable[[LocalAccount], TaskMarket],
        accounts: list[LocalAccount]) -> None:
    first = requester.post(spec, reward=REWARD)
    market_for(accounts[3]).post_task(b"\x01" * 32, "blob:x", reward=1, worker_stake=1, claim_timeout=9,
                                      train_timeout=9, challenge_window=9).send()
    second = requester.post(spec, reward=2 * REWARD)
    views = requester.status()
    assert [v.task_id for v in views] == [second, first]
    assert [(v.state, v.reward, v.worker, v.name) for v in views] == [
        ("open", 2 * REWARD, None, "digits-mlp"), ("open", REWARD, None, "digits-mlp")]


def test_status_of_one_task_follows_the_chain(requester: Requester, spec: Path,
                                              market_for: Callable[[LocalAccount], TaskMarket],
                                              accounts: list[LocalAccount]) -> None:
    task_id = requester.post(spec, reward=REWARD)
    market_for(accounts[2]).claim_task(task_id).send()
    (view,) = requester.status(task_id)
    assert (view.state, view.worker, view.merkle_root, view.dispute) == ("claimed", accounts[2].address, None, None)
    assert view.window_end is None
    job = requester.history.job(requester.chain_id, requester.market.address, task_id, "requester")
    assert job.state == "claimed"


def test_status_of_an_unknown_task_is_a_clear_error(requester: Requester) -> None:
    with pytest.raises(UnknownTask, match="task 4242 does not exist") as e:
        requester.status(4242)
    assert "requester status" in e.value.hint


def test_cancel_credits_the_reward_back_and_records_it(requester: Requester, spec: Path) -> None:
    task_id = requester.post(spec, reward=REWARD)
    tx = requester.cancel(task_id)
    assert requester.market.get_task(task_id).status.name == "CANCELLED"
    assert requester.credits() == REWARD
    job = requester.history.job(requester.chain_id, requester.market.address, task_id, "requester")
    assert (job.state, job.outcome, job.txs["cancel"]) == ("cancelled", "cancelled", tx)
    balance = requester.market.w3.eth.get_balance(requester.address)
    amount, _ = requester.withdraw()
    assert amount == REWARD and requester.market.w3.eth.get_balance(requester.address) > balance + REWARD * 9 // 10


def test_cancel_of_a_claimed_task_says_until_when(requester: Requester, spec: Path,
                                                  market_for: Callable[[LocalAccount], TaskMarket],
                                                  accounts: list[LocalAccount]) -> None:
    task_id = requester.post(spec, reward=REWARD)
    market_for(accounts[2]).claim_task(task_id).send()
    with pytest.raises(
        NotCancellable, match=f"task {task_id} is claimed by {accounts[2].address} and cannot be cancelled"
    ) as e:
        requester.cancel(task_id)
    assert "the claim runs until" in e.value.hint
    assert requester.market.get_task(task_id).status.name == "CLAIMED"


def test_cancel_after_the_claim_expired_expires_it_first(requester: Requester, spec: Path,
                                                         market_for: Callable[[LocalAccount], TaskMarket],
                                                         accounts: list[LocalAccount]) -> None:
    task_id = requester.post(spec, reward=REWARD, stake=10**15, train_timeout=600)
    market_for(accounts[2]).claim_task(task_id).send()
    time_travel(requester.market.w3, 601)
    requester.cancel(task_id)
    assert requester.market.get_task(task_id).status.name == "CANCELLED"
    assert requester.credits() == REWARD + 10**15  # the reward back, plus the forfeited stake


def test_cancel_of_someone_elses_task_is_refused(requester: Requester, spec: Path,
                                                 market_for: Callable[[LocalAccount], TaskMarket],
                                                 accounts: list[LocalAccount]) -> None:
    task_id = requester.post(spec, reward=REWARD)
    other = Requester(market_for(accounts[4]), requester.store, requester.history)
    with pytest.raises(NotYourTask, match=f"task {task_id} was posted by {requester.address}"):
        other.cancel(task_id)


def test_cancel_of_an_unknown_task_is_a_clear_error(requester: Requester) -> None:
    with pytest.raises(UnknownTask):
        requester.cancel(77)


def test_withdraw_with_nothing_credited_is_a_clear_error(requester: Requester) -> None:
    with pytest.raises(RequesterError, match="nothing to withdraw"):
        requester.withdraw()


def test_status_shows_a_dispute(requester: Requester, spec: Path,
                                market_for: Callable[[LocalAccount], TaskMarket],
                                accounts: list[LocalAccount]) -> None:
    task_id = requester.post(spec, reward=REWARD, stake=ETHER // 100)
    tree = checkpoint_tree(5)
    claim_and_submit(market_for(accounts[2]), task_id, tree)
    challenge(market_for(accounts[5]), task_id, tree, segment=2)
    (view,) = requester.status(task_id)
    assert view.state == "challenged" and view.merkle_root == "0x" + tree.root.hex() and view.num_leaves == 5
    assert (view.dispute.challenger, view.dispute.segment, view.dispute.bond) == (accounts[5].address, 2, ETHER // 100)
    assert view.dispute.jury == () and view.window_end == view.deadline
