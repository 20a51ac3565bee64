"""TaskMarketV2's task calls through the bindings on a real anvil: the happy path to the last wei,
the deadlines the events leave out, reverts with the contract's reason, one wrapper per ABI entry."""

from __future__ import annotations

from dataclasses import fields

import pytest

from engine.chain.anvil import mine, time_travel
from engine.chain.contract import event_fields, snake
from engine.chain.errors import ContractRevert
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, load_artifact_v2, payment_for, verification_fee
from engine.chain.records_v2 import (
    EVENT_TYPES_V2,
    AuditClosed,
    MarketParamsV2,
    ResultSubmitted,
    TaskClaimed,
    TaskPosted,
    TaskStatusV2,
)
from tests.integration.chain_v2 import steps

FEE_BPS = DEVNET_PARAMS_V2["auditFeeBps"]


def test_payment_for_a_reward_is_the_least_that_leaves_the_worker_its_reward() -> None:
    for reward in (1, 9, 10**18, 10**18 + 7, 123_456_789):
        payment = payment_for(reward, FEE_BPS)
        assert payment - verification_fee(payment, FEE_BPS) >= reward
        assert payment - 1 - verification_fee(payment - 1, FEE_BPS) < reward


def test_happy_path_pays_worker_and_requester_to_the_last_wei(actors) -> None:
    requester, worker = actors["requester"], actors["worker"]
    tree = steps.checkpoint_tree()
    task_id = steps.post(requester)
    (posted,) = requester.task_events(TaskPosted, task_id)
    task = requester.get_task(task_id)
    assert (task.status, task.reward, task.arithmetic, posted.reward) == (
        TaskStatusV2.OPEN, steps.PAYMENT, 0, steps.PAYMENT)
    assert task.verification_fee == verification_fee(steps.PAYMENT, FEE_BPS)
    assert task.worker_pay >= steps.REWARD
    assert requester.event_deadline(posted) == task.deadline   # the claim deadline TaskPosted leaves out
    assert task_id in requester.open_tasks()

    steps.claim_and_submit(worker, task_id, tree)
    (claimed,) = worker.task_events(TaskClaimed, task_id)
    (submitted,) = worker.task_events(ResultSubmitted, task_id)
    assert worker.event_deadline(claimed) == worker.clock.timestamp(claimed.block_number) + steps.TRAIN_TIMEOUT
    task = worker.get_task(task_id)
    assert (task.status, task.worker, task.merkle_root, task.num_leaves, task.submit_block) == (
        TaskStatusV2.SUBMITTED, worker.sender.address, tree.root, len(tree), submitted.block_number)
    assert worker.event_deadline(submitted) == task.deadline   # the end of the challenge window
    with pytest.raises(ContractRevert, match="window open"):
        worker.finalize(task_id).send()

    steps.pass_window(worker)
    worker.finalize(task_id).send()
    assert worker.get_task(task_id).status is TaskStatusV2.FINALIZED
    assert steps.withdraw_exactly(worker) == task.worker_pay + steps.STAKE

    with pytest.raises(ContractRevert, match="reveal open"):
        requester.close_audit(task_id).send()
    time_travel(requester.w3, requester.params().reveal_period + 1)
    closed = steps.one(requester, requester.close_audit(task_id).send(), AuditClosed)
    assert closed.refund == task.verification_fee        # nobody audited: the whole fee goes back
    assert requester.get_audit(task_id).closed
    assert steps.withdraw_exactly(requester) == task.verification_fee
    assert requester.balance(requester.address) == 0     # every wei of the payment and the stake paid out


def test_a_reverted_call_raises_contract_revert_with_the_contracts_reason(actors, verifiers) -> None:
    requester, worker, challenger = actors["requester"], actors["worker"], actors["challenger"]
    tree = steps.checkpoint_tree()
    task_id = steps.post(requester)
    with pytest.raises(ContractRevert) as e:
        worker.claim_task(task_id, stake=1).send()
    assert (e.value.reason, e.value.function) == ("wrong stake", "claimTask")
    assert str(e.value) == "TaskMarket.claimTask reverted: wrong stake"
    with pytest.raises(ContractRevert, match="stake too low"):
        verifiers[0].register_verifier(verifiers[0].min_stake_now() - 1).send()
    with pytest.raises(ContractRevert, match="no reward"):
        requester.post_task(steps.SPEC_HASH, steps.SPEC_URI, payment=0, worker_stake=1, claim_timeout=1,
                            train_timeout=1, challenge_window=1).estimate_gas()
    steps.claim_and_submit(worker, task_id, tree)
    commit_id = steps.commit_challenge(challenger, task_id, 1)
    with pytest.raises(ContractRevert, match="same block"):
        challenger.reveal_challenge(commit_id, 1, tree.leaves[1], tree.proof(1), tree.leaves[2], tree.proof(2),
                                    steps.SALT).estimate_gas()
    mine(challenger.w3, 1)
    with pytest.raises(ContractRevert, match="bad reveal"):  # not the segment committed to
        challenger.reveal_challenge(commit_id, 2, tree.leaves[2], tree.proof(2), tree.leaves[3], tree.proof(3),
                                    steps.SALT).send()
    with pytest.raises(ContractRevert, match="not committer"):  # a copied reveal wins nothing
        requester.reveal_challenge(commit_id, 1, tree.leaves[1], tree.proof(1), tree.leaves[2], tree.proof(2),
                                   steps.SALT).send()
    with pytest.raises(ContractRevert, match="nothing to withdraw"):
        requester.withdraw().simulate()
    with pytest.raises(ContractRevert, match="no task"):
        requester.get_task(999)


def test_every_v2_abi_event_and_function_has_a_typed_wrapper() -> None:
    abi = load_artifact_v2().abi
    events = [e for e in abi if e["type"] == "event"]
    assert {e["name"] for e in events} == set(EVENT_TYPES_V2)
    for event in events:
        cls = EVENT_TYPES_V2[event["name"]]
        assert event_fields(cls) == [snake(i["name"]) for i in event["inputs"]], event["name"]
    params = {f.name for f in fields(MarketParamsV2)}  # the immutables, read by params()
    for fn in (f for f in abi if f["type"] == "function"):
        name = snake(fn["name"])
        assert name in params or callable(getattr(TaskMarketV2, name, None)), f"no wrapper for {fn['name']}"
