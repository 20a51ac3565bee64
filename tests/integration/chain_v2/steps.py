"""Steps of a task's life on TaskMarketV2, through the bindings, shared by the chain_v2 tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from web3.types import TxReceipt

from engine.chain.anvil import mine, time_travel
from engine.chain.contract import E
from engine.chain.market import ETHER
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, payment_for, vote_commitment
from engine.chain.records_v2 import ChallengeCommitted, Challenged, DataDemanded, JuryDrawn, TaskPosted
from engine.commit.merkle import MerkleTree

REWARD = ETHER                     # the worker's share
PAYMENT = payment_for(REWARD, DEVNET_PARAMS_V2["auditFeeBps"])
STAKE = ETHER // 10
CLAIM_TIMEOUT = 3600
TRAIN_TIMEOUT = 7200
CHALLENGE_WINDOW = 1800
SPEC_HASH = hashlib.sha256(b"spec").digest()
SPEC_URI = "blob://spec"
RESULT_URI = "blob://result"
SALT = hashlib.sha256(b"challenge salt").digest()


def checkpoint_tree(n: int = 6, tag: bytes = b"ckpt") -> MerkleTree:
    """A real Merkle tree over ``n`` checkpoint leaf hashes (SHA-256, like engine.commit.leaf)."""
    return MerkleTree([hashlib.sha256(tag + bytes([i])).digest() for i in range(n)])


def one(market: TaskMarketV2, receipt: TxReceipt, cls: type[E]) -> E:
    """The single ``cls`` event in ``receipt``."""
    (event,) = [e for e in market.events_in(receipt) if isinstance(e, cls)]
    return event


def post(requester: TaskMarketV2, **terms: int) -> int:
    receipt = requester.post_task(SPEC_HASH, SPEC_URI, payment=terms.get("payment", PAYMENT),
                                  worker_stake=terms.get("stake", STAKE), claim_timeout=CLAIM_TIMEOUT,
                                  train_timeout=TRAIN_TIMEOUT, challenge_window=CHALLENGE_WINDOW,
                                  arithmetic=terms.get("arithmetic", 0)).send()
    return one(requester, receipt, TaskPosted).task_id


def claim_and_submit(worker: TaskMarketV2, task_id: int, tree: MerkleTree) -> None:
    worker.claim_task(task_id).send()
    worker.submit_result(task_id, tree.root, len(tree), RESULT_URI).send()


def submitted(requester: TaskMarketV2, worker: TaskMarketV2, tree: MerkleTree) -> int:
    task_id = post(requester)
    claim_and_submit(worker, task_id, tree)
    return task_id


def next_epoch(market: TaskMarketV2) -> None:
    """Move the chain to the start of the next epoch: the stake snapshot then holds every change so far."""
    time_travel(market.w3, market.next_epoch_at() - market.clock.latest())


def register(verifiers: Iterable[TaskMarketV2], arithmetic: int = 0) -> None:
    """Register each with the minimum stake, then start a new epoch so the stakes weigh in draws."""
    verifiers = list(verifiers)
    for v in verifiers:
        v.register_verifier(v.min_stake_now(), arithmetic).send()
    next_epoch(verifiers[0])


def commit_challenge(challenger: TaskMarketV2, task_id: int, segment: int) -> int:
    receipt = challenger.commit_challenge(task_id, segment, SALT).send()
    return one(challenger, receipt, ChallengeCommitted).commit_id


def challenge(challenger: TaskMarketV2, task_id: int, tree: MerkleTree, segment: int = 2) -> int:
    """Commit, then reveal from a later block: the dispute id."""
    commit_id = commit_challenge(challenger, task_id, segment)
    mine(challenger.w3, 1)  # the reveal is checked against the head: it must be past the commit's block
    receipt = challenger.reveal_challenge(commit_id, segment, tree.leaves[segment], tree.proof(segment),
                                          tree.leaves[segment + 1], tree.proof(segment + 1), SALT).send()
    return one(challenger, receipt, Challenged).dispute_id


def draw(market: TaskMarketV2, dispute_id: int) -> tuple[str, ...]:
    """Draw the jury once the head is past the draw block (again if the draw was deferred)."""
    for _ in range(3):
        mine(market.w3, 2)
        receipt = market.draw_jury(dispute_id).send()
        if any(isinstance(e, JuryDrawn) for e in market.events_in(receipt)):
            return market.jury(dispute_id)
    raise AssertionError(f"dispute {dispute_id}: no jury after three draws")


def salt_of(juror: TaskMarketV2) -> bytes:
    return hashlib.sha256(b"vote " + juror.sender_or_fail().address.encode()).digest()


def vote(jurors: dict[TaskMarketV2, bool | None], dispute_id: int) -> None:
    """Each juror commits its vote (None: stays silent), the commit period passes, each reveals,
    the reveal period passes."""
    first = next(iter(jurors))
    params = first.params()
    voting = {j: v for j, v in jurors.items() if v is not None}
    for j, honest in voting.items():
        j.commit_vote(dispute_id, vote_commitment(honest, salt_of(j), j.sender_or_fail().address)).send()
    time_travel(first.w3, params.commit_period + 1)  # every juror silent: the periods still pass
    for j, honest in voting.items():
        j.reveal_vote(dispute_id, honest, salt_of(j)).send()
    time_travel(first.w3, params.reveal_period + 1)


def demand(demander: TaskMarketV2, task_id: int, index: int) -> int:
    return one(demander, demander.demand_data(task_id, index).send(), DataDemanded).demand_id


def pass_window(market: TaskMarketV2) -> None:
    time_travel(market.w3, CHALLENGE_WINDOW + 1)


def withdraw_exactly(market: TaskMarketV2) -> int:
    """Withdraw, and check the wallet grew by exactly the credit less the gas paid: the credit."""
    me = market.sender_or_fail().address
    credit, before = market.credits(me), market.balance(me)
    receipt = market.withdraw().send()
    assert market.balance(me) == before + credit - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert market.credits(me) == 0
    return credit

