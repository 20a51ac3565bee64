"""TaskMarket through the Python client against a real anvil node: both paths, reverts, events."""

from __future__ import annotations

from dataclasses import fields

import pytest

from engine.chain import market as m
from engine.chain.anvil import mine
from engine.chain.errors import ContractRevert
from engine.chain.events import EventCursor
from engine.chain.market import Reveal, TaskMarket, TaskStatus
from tests.integration.chain import actions as act


@pytest.fixture
def actors(market_for, accounts):
    """requester, worker, challenger and five verifiers, each with its own client."""
    names = ["requester", "worker", "challenger", "v1", "v2", "v3", "v4", "v5"]
    return {name: market_for(accounts[i + 1]) for i, name in enumerate(names)}


def test_happy_path_pays_the_worker_reward_and_stake(actors, chain) -> None:
    requester, worker = actors["requester"], actors["worker"]
    tree = act.checkpoint_tree()
    task_id = act.post(requester)
    assert requester.get_task(task_id).status is TaskStatus.OPEN
    assert task_id in requester.open_tasks()
    act.claim_and_submit(worker, task_id, tree)
    task = worker.get_task(task_id)
    assert (task.status, task.worker, task.merkle_root, task.num_leaves) == (
        TaskStatus.SUBMITTED, worker.sender.address, tree.root, len(tree))
    act.pass_challenge_window(worker)
    worker.finalize(task_id).send()
    assert worker.credits(worker.sender.address) == act.REWARD + act.STAKE
    before = chain.eth.get_balance(worker.sender.address)
    receipt = worker.withdraw().send()
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.eth.get_balance(worker.sender.address) == before + act.REWARD + act.STAKE - fee
    assert worker.get_task(task_id).status is TaskStatus.FINALIZED


def test_dispute_won_by_the_worker_slashes_the_challenger(actors) -> None:
    requester, worker, challenger = actors["requester"], actors["worker"], actors["challenger"]
    verifiers = [actors[f"v{i}"] for i in range(1, 6)]
    tree = act.checkpoint_tree()
    task_id = act.post(requester)
    act.claim_and_submit(worker, task_id, tree)
    act.register_verifiers(verifiers)
    bond = challenger.challenge_bond(task_id)
    act.challenge(challenger, task_id, tree, segment=2)
    dispute = challenger.get_dispute(task_id)
    assert (dispute.challenger, dispute.segment, dispute.bond) == (challenger.sender.address, 2, bond)
    assert challenger.get_task(task_id).status is TaskStatus.CHALLENGED

    jury = act.draw_jury(challenger, task_id)
    assert len(jury) == 3 and set(jury) <= {v.sender.address for v in verifiers}
    jurors = [v for v in verifiers if v.sender.address in jury]
    act.vote(jurors, task_id, worker_honest=True)
    assert worker.vote_of(task_id, jurors[0].sender.address).reveal is Reveal.HONEST
    worker.resolve(task_id).send()

    dispute = worker.get_dispute(task_id)
    assert (dispute.honest_votes, dispute.cheat_votes) == (3, 0)
    assert worker.get_task(task_id).status is TaskStatus.ACCEPTED
    worker.finalize(task_id).send()
    params = worker.params()
    share = bond * params.juror_reward_bps // 10_000 // 3  # the rounding dust goes to the winner
    assert worker.credits(worker.sender.address) == act.REWARD + act.STAKE + bond - 3 * share
    assert jurors[0].credits(jurors[0].sender.address) == share
    for who in (worker, *jurors):
        who.withdraw().send()
        assert who.credits(who.sender.address) == 0


def test_dispute_won_by_the_challenger_reopens_the_task(actors) -> None:
    requester, worker, challenger = actors["requester"], actors["worker"], actors["challenger"]
    verifiers = [actors[f"v{i}"] for i in range(1, 6)]
    tree = act.checkpoint_tree()
    task_id = act.post(requester)
    act.claim_and_submit(worker, task_id, tree)
    act.register_verifiers(verifiers)
    bond = challenger.challenge_bond(task_id)
    act.challenge(challenger, task_id, tree)
    jury = act.draw_jury(requester, task_id)
    act.vote([v for v in verifiers if v.sender.address in jury], task_id, worker_honest=False)
    receipt = requester.resolve(task_id).send()
    resolved = [e for e in requester.events_in(receipt) if isinstance(e, m.DisputeResolved)]
    assert resolved and resolved[0].worker_won is False
    assert requester.get_task(task_id).status is TaskStatus.OPEN
    share = act.STAKE * worker.params().juror_reward_bps // 10_000 // 3
    assert challenger.credits(challenger.sender.address) == bond + act.STAKE - 3 * share


def test_reverts_carry_the_contracts_reason_and_function(actors) -> None:
    requester, worker, challenger = actors["requester"], actors["worker"], actors["challenger"]
    tree = act.checkpoint_tree()
    task_id = act.post(requester)
    with pytest.raises(ContractRevert) as e:
        worker.claim_task(task_id, stake=1).send()
    assert (e.value.reason, e.value.function) == ("wrong stake", "claimTask")
    assert str(e.value) == "TaskMarket.claimTask reverted: wrong stake"
    act.claim_and_submit(worker, task_id, tree)
    with pytest.raises(ContractRevert, match="window open"):
        worker.finalize(task_id).send()
    with pytest.raises(ContractRevert, match="bad proof"):
        challenger.challenge(task_id, 1, tree.leaves[1], tree.proof(2), tree.leaves[2], tree.proof(2)).send()
    with pytest.raises(ContractRevert, match="nothing to withdraw"):
        challenger.withdraw().simulate()
    with pytest.raises(ContractRevert, match="no task"):
        requester.get_task(999)


def test_a_transaction_that_reverts_when_mined_is_decoded_by_replay(actors, accounts, market_for) -> None:
    requester, worker = actors["requester"], actors["worker"]
    task_id = act.post(requester)
    rival = market_for(accounts[9])
    late = rival.claim_task(task_id).prepare()  # valid when estimated ...
    worker.claim_task(task_id).send()           # ... but the worker claims first
    rival.sender.broadcast(late)
    with pytest.raises(ContractRevert) as e:
        rival.sender.wait(late)
    assert (e.value.reason, e.value.function) == ("not open", "claimTask")


def test_events_are_typed_and_delivered_once_confirmed(actors, deployment, chain) -> None:
    requester, worker = actors["requester"], actors["worker"]
    poller = requester.poller(confirmations=2)
    cursor = EventCursor(deployment.deploy_block)
    task_id = act.post(requester)
    act.claim_and_submit(worker, task_id, act.checkpoint_tree())
    seen, cursor = poller.poll(cursor)
    assert [type(e) for e in seen] == [m.TaskPosted]  # the claim and the submit are too shallow
    posted = seen[0]
    assert (posted.task_id, posted.requester, posted.spec_uri, posted.reward) == (
        task_id, requester.sender.address, "blob://spec", act.REWARD)
    assert posted.spec_hash == act.SPEC_HASH
    mine(chain, 2)
    more, cursor = poller.poll(EventCursor(cursor.next_block))  # as if restored from disk
    assert [type(e) for e in more] == [m.TaskClaimed, m.ResultSubmitted]
    assert more[1].merkle_root == worker.get_task(task_id).merkle_root
    assert poller.poll(cursor)[0] == []


def test_every_abi_event_and_function_has_a_typed_wrapper(deployment) -> None:
    from engine.chain.artifact import load_artifact

    abi = load_artifact().abi
    for event in (e for e in abi if e["type"] == "event"):
        cls = m.EVENT_TYPES[event["name"]]
        assert m.event_fields(cls) == [m.snake(i["name"]) for i in event["inputs"]], event["name"]
    params = {f.name for f in fields(m.MarketParams)}  # the immutables, read by params()
    for fn in (f for f in abi if f["type"] == "function"):
        name = m.snake(fn["name"])
        assert name in params or callable(getattr(TaskMarket, name, None)), f"no wrapper for {fn['name']}"


def test_open_market_checks_the_configured_address_holds_the_contract(anvil_node, deployment) -> None:
    from engine.chain.errors import NotDeployed
    from engine.chain.market import open_market
    from engine.chain.settings import NetworkSettings

    market = open_market(NetworkSettings(rpc_url=anvil_node.url, market_address=deployment.market_address))
    assert market.params().jury_size == 3
    with pytest.raises(NotDeployed, match="no TaskMarket contract at 0x"):
        open_market(NetworkSettings(rpc_url=anvil_node.url, market_address="0x" + "22" * 20))
