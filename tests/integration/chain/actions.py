"""Steps of a task's life on chain, shared by the tests (and usable by other test folders)."""

from __future__ import annotations

import hashlib

from engine.chain.anvil import mine, time_travel
from engine.chain.market import ETHER, TaskMarket, TaskPosted, vote_commitment
from engine.commit.merkle import MerkleTree

REWARD = ETHER
STAKE = ETHER // 10
CLAIM_TIMEOUT = 3600
TRAIN_TIMEOUT = 7200
CHALLENGE_WINDOW = 1800
SPEC_HASH = hashlib.sha256(b"spec").digest()


def checkpoint_tree(n: int = 5, tag: bytes = b"ckpt") -> MerkleTree:
    """A real Merkle tree over ``n`` checkpoint leaf hashes (SHA-256, like engine.commit.leaf)."""
    return MerkleTree([hashlib.sha256(tag + bytes([i])).digest() for i in range(n)])


def post(requester: TaskMarket, *, reward: int = REWARD, stake: int = STAKE) -> int:
    receipt = requester.post_task(SPEC_HASH, "blob://spec", reward=reward, worker_stake=stake,
                                  claim_timeout=CLAIM_TIMEOUT, train_timeout=TRAIN_TIMEOUT,
                                  challenge_window=CHALLENGE_WINDOW).send()
    (posted,) = [e for e in requester.events_in(receipt) if isinstance(e, TaskPosted)]
    return posted.task_id


def claim_and_submit(worker: TaskMarket, task_id: int, tree: MerkleTree) -> None:
    worker.claim_task(task_id).send()
    worker.submit_result(task_id, tree.root, len(tree), "blob://result").send()


def challenge(challenger: TaskMarket, task_id: int, tree: MerkleTree, segment: int = 1) -> None:
    challenger.challenge(task_id, segment, tree.leaves[segment], tree.proof(segment),
                         tree.leaves[segment + 1], tree.proof(segment + 1)).send()


def register_verifiers(verifiers: list[TaskMarket], stake: int = ETHER // 10) -> None:
    for v in verifiers:
        v.register_verifier(stake).send()


def draw_jury(any_market: TaskMarket, task_id: int) -> tuple[str, ...]:
    # the draw needs the hash of the block after the challenge's, and gas is estimated at the head
    mine(any_market.w3, 2)
    any_market.draw_jury(task_id).send()
    return any_market.jury(task_id)


def vote(jurors: list[TaskMarket], task_id: int, worker_honest: bool) -> None:
    """Each juror commits, the commit period passes, each reveals, the reveal period passes."""
    params = jurors[0].params()
    salts = {j.sender.address: hashlib.sha256(j.sender.address.encode()).digest() for j in jurors}
    for j in jurors:
        j.commit_vote(task_id, vote_commitment(worker_honest, salts[j.sender.address], j.sender.address)).send()
    time_travel(jurors[0].w3, params.commit_period + 1)
    for j in jurors:
        j.reveal_vote(task_id, worker_honest, salts[j.sender.address]).send()
    time_travel(jurors[0].w3, params.reveal_period + 1)


def pass_challenge_window(market: TaskMarket) -> None:
    time_travel(market.w3, CHALLENGE_WINDOW + 1)
