"""Task lifecycle without disputes: post, cancel, claim, expire, submit, finalize, withdraw, views."""

from __future__ import annotations

import boa
import pytest

from tests.unit.contract_v2 import actions as a


def test_post_escrows_the_reward_and_lists_the_task(market, requester):
    before = boa.env.get_balance(market.address)
    task_id = a.post(market, requester)
    assert boa.env.get_balance(market.address) - before == a.REWARD
    task = market.getTask(task_id)
    assert (task.requester, task.reward, task.workerStake, task.status) == (requester, a.REWARD, a.STAKE, a.OPEN)
    assert (task.claimTimeout, task.trainTimeout, task.challengeWindow) == (
        a.CLAIM_TIMEOUT, a.TRAIN_TIMEOUT, a.CHALLENGE_WINDOW)
    assert task.deadline == boa.env.timestamp + a.CLAIM_TIMEOUT
    assert market.taskCount() == task_id == 1
    assert market.openTasks(0, 10) == [task_id]


def test_post_logs_spec_hash_and_uri(market, requester):
    task_id = a.post(market, requester)
    (event,) = [e for e in market.get_logs() if type(e).__name__ == "TaskPosted"]
    assert (event.taskId, event.requester, event.specHash, event.specURI) == (task_id, requester, a.SPEC_HASH,
                                                                              a.SPEC_URI)


@pytest.mark.parametrize("kwargs, reason", [
    ({"reward": 0}, "no reward"),
    ({"stake": 0}, "no stake"),
    ({"stake": 2**96}, "amount too big"),
    ({"claim": 0}, "bad timeout"),
    ({"train": 2**32}, "bad timeout"),
    ({"window": 0}, "bad timeout"),
])
def test_post_rejects_bad_terms(market, requester, kwargs, reason):
    with boa.reverts(reason):
        a.post(market, requester, **kwargs)


def test_cancel_credits_the_reward_back_and_unlists(market, requester):
    task_id = a.post(market, requester)
    market.cancelTask(task_id, sender=requester)
    assert market.getTask(task_id).status == a.CANCELLED
    assert market.credits(requester) == a.REWARD
    assert market.openTaskCount() == 0
    assert a.withdraw_all(market, requester) == a.REWARD


def test_cancel_reverts(market, requester, worker, stranger):
    with boa.reverts("no task"):
        market.cancelTask(1, sender=requester)
    task_id = a.post(market, requester)
    with boa.reverts("not requester"):
        market.cancelTask(task_id, sender=stranger)
    a.claim(market, worker, task_id)
    with boa.reverts("not open"):
        market.cancelTask(task_id, sender=requester)


def test_claim_takes_the_stake_and_unlists(market, requester, worker):
    task_id = a.post(market, requester)
    a.claim(market, worker, task_id)
    task = market.getTask(task_id)
    assert (task.worker, task.status) == (worker, a.CLAIMED)
    assert task.deadline == boa.env.timestamp + a.TRAIN_TIMEOUT
    assert market.openTasks(0, 10) == []
    assert boa.env.get_balance(market.address) == a.REWARD + a.STAKE


def test_claim_reverts(market, requester, worker, stranger):
    with boa.reverts("no task"):
        market.claimTask(7, value=a.STAKE, sender=worker)
    task_id = a.post(market, requester)
    with boa.reverts("wrong stake"):
        market.claimTask(task_id, value=a.STAKE - 1, sender=worker)
    a.claim(market, worker, task_id)
    with boa.reverts("not open"):
        market.claimTask(task_id, value=a.STAKE, sender=stranger)


def test_claim_closes_after_the_claim_timeout(market, requester, worker):
    task_id = a.post(market, requester)
    a.advance(a.CLAIM_TIMEOUT + 1)
    with boa.reverts("claim closed"):
        market.claimTask(task_id, value=a.STAKE, sender=worker)
    market.cancelTask(task_id, sender=requester)  # the requester takes the reward back


def test_expire_claim_forfeits_the_stake_and_reopens(market, requester, worker, stranger):
    task_id = a.post(market, requester)
    a.claim(market, worker, task_id)
    with boa.reverts("not expired"):
        market.expireClaim(task_id, sender=stranger)
    a.advance(a.TRAIN_TIMEOUT + 1)
    market.expireClaim(task_id, sender=stranger)
    task = market.getTask(task_id)
    assert (task.status, task.worker) == (a.OPEN, a.ZERO_ADDRESS)
    assert task.deadline == boa.env.timestamp + a.CLAIM_TIMEOUT
    assert market.credits(requester) == a.STAKE
    assert market.openTasks(0, 10) == [task_id]
    a.claim(market, stranger, task_id)  # claimable again
    with boa.reverts("not claimed"):
        market.expireClaim(task_id + 1)


def test_requester_may_cancel_after_an_expired_claim(market, requester, worker):
    task_id = a.post(market, requester)
    a.claim(market, worker, task_id)
    a.advance(a.TRAIN_TIMEOUT + 1)
    market.expireClaim(task_id, sender=requester)
    market.cancelTask(task_id, sender=requester)
    assert a.withdraw_all(market, requester) == a.REWARD + a.STAKE


def test_submit_records_root_and_opens_the_window(market, requester, worker):
    task_id = a.post(market, requester)
    a.claim(market, worker, task_id)
    tree = a.submit(market, worker, task_id, n=5)
    task = market.getTask(task_id)
    assert (task.status, task.merkleRoot, task.numLeaves) == (a.SUBMITTED, tree.root, 5)
    assert task.deadline == boa.env.timestamp + a.CHALLENGE_WINDOW


def test_submit_reverts(market, requester, worker, stranger):
    task_id = a.post(market, requester)
    root = a.MerkleTree(a.leaves(4)).root
    with boa.reverts("not claimed"):
        market.submitResult(task_id, root, 4, a.RESULT_URI, sender=worker)
    a.claim(market, worker, task_id)
    with boa.reverts("not worker"):
        market.submitResult(task_id, root, 4, a.RESULT_URI, sender=stranger)
    with boa.reverts("too few leaves"):
        market.submitResult(task_id, root, 1, a.RESULT_URI, sender=worker)
    with boa.reverts("too many leaves"):
        market.submitResult(task_id, root, 2**32, a.RESULT_URI, sender=worker)
    with boa.reverts("empty root"):
        market.submitResult(task_id, bytes(32), 4, a.RESULT_URI, sender=worker)
    a.advance(a.TRAIN_TIMEOUT + 1)
    with boa.reverts("too late"):
        market.submitResult(task_id, root, 4, a.RESULT_URI, sender=worker)


def test_finalize_pays_reward_and_stake_after_the_window(market, submitted, worker, stranger):
    task_id, _ = submitted
    with boa.reverts("window open"):
        market.finalize(task_id, sender=stranger)
    a.advance(a.CHALLENGE_WINDOW + 1)
    market.finalize(task_id, sender=stranger)
    assert market.getTask(task_id).status == a.FINALIZED
    fee = a.REWARD * market.auditFeeBps() // 10_000  # kept for the auditors until closeAudit
    assert market.credits(worker) == a.REWARD - fee + a.STAKE
    with boa.reverts("not submitted"):
        market.finalize(task_id, sender=stranger)
    assert a.withdraw_all(market, worker) == a.REWARD - fee + a.STAKE
    assert boa.env.get_balance(market.address) == fee


def test_credits_after_a_withdrawal_count_from_zero(market, requester):
    """withdraw leaves a mark (bit 255) in the slot, not 0: it must never show as a credit or be paid."""
    a.post(market, requester)
    market.cancelTask(market.taskCount(), sender=requester)
    assert a.withdraw_all(market, requester) == a.REWARD
    assert market.credits(requester) == 0
    with boa.reverts("nothing to withdraw"):
        market.withdraw(sender=requester)
    a.post(market, requester)
    market.cancelTask(market.taskCount(), sender=requester)
    assert market.credits(requester) == a.REWARD
    assert a.withdraw_all(market, requester) == a.REWARD


def test_withdraw_reverts_without_credit(market, stranger):
    with boa.reverts("nothing to withdraw"):
        market.withdraw(sender=stranger)


REENTRANT = """
# pragma version 0.4.3
interface Market:
    def withdraw(): nonpayable
    def cancelTask(taskId: uint256): nonpayable
    def postTask(h: bytes32, u: String[256], s: uint256, c: uint256, t: uint256, w: uint256, a: uint256) -> uint256: payable

market: Market
attacks: public(uint256)

@deploy
def __init__(m: address):
    self.market = Market(m)

@external
@payable
def post_and_cancel():
    id: uint256 = extcall self.market.postTask(empty(bytes32), "", 1, 1, 1, 1, 0, value=msg.value)
    extcall self.market.cancelTask(id)

@external
def pull():
    extcall self.market.withdraw()

@external
@payable
def __default__():
    if msg.sender == self.market.address and self.attacks == 0:
        self.attacks += 1
        extcall self.market.withdraw()
"""


def test_withdraw_cannot_be_reentered(market, stranger):
    attacker = boa.loads(REENTRANT, market.address)
    attacker.post_and_cancel(value=10**18, sender=stranger)
    with boa.reverts("transfer failed"):
        attacker.pull()
    assert market.credits(attacker.address) == 10**18


def test_open_tasks_pages_and_swap_removes(market, requester, worker):
    ids = [a.post(market, requester) for _ in range(20)]
    assert market.openTaskCount() == 20
    assert market.openTasks(0, 100) == ids
    assert market.openTasks(5, 3) == ids[5:8]
    assert market.openTasks(18, 10) == ids[18:]
    assert market.openTasks(25, 10) == []
    a.claim(market, worker, ids[2])  # the last id moves into position 2
    market.cancelTask(ids[10], sender=requester)  # the new last (ids[18]) moves into position 10
    listed = market.openTasks(0, 100)
    assert sorted(listed) == sorted(set(ids) - {ids[2], ids[10]})
    assert listed[2] == ids[19] and listed[10] == ids[18]
    for task_id in listed:  # each stored position is still right: claiming any of them unlists just it
        a.claim(market, worker, task_id)
        assert task_id not in market.openTasks(0, 100)
    assert market.openTaskCount() == 0
    assert a.post(market, requester) == 21 and market.openTasks(0, 100) == [21]


def test_get_task_of_unknown_id_reverts(market):
    with boa.reverts("no task"):
        market.getTask(1)
