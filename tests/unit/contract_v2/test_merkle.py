"""The contract checks Merkle proofs exactly as engine/commit/merkle.py builds them."""

from __future__ import annotations

import boa
import pytest

from engine.commit.merkle import MerkleTree, verify_proof
from tests.unit.contract_v2 import actions as a


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_every_leaf_of_a_python_tree_verifies(market, n):
    tree = MerkleTree(a.leaves(n))
    for i in range(n):
        assert market.verifyProof(tree.root, tree.leaves[i], i, n, tree.proof(i))


def test_wrong_proofs_are_rejected_like_the_python_checker(market):
    tree = MerkleTree(a.leaves(6))
    root, leaf, proof = tree.root, tree.leaves[2], tree.proof(2)
    cases = [
        (root, a.leaves(1, b"other")[0], 2, 6, proof),  # another leaf
        (root, leaf, 3, 6, proof),  # another index
        (root, leaf, 2, 9, [*proof, bytes(32)]),  # another leaf count and depth
        (root, leaf, 2, 6, proof[:-1]),  # proof too short
        (root, leaf, 2, 6, [*proof, bytes(32)]),  # proof too long
        (root, leaf, 6, 6, tree.proof(5)),  # index past the leaves
        (root, leaf, 2, 6, [proof[1], proof[0], proof[2]]),  # siblings out of order
        (bytes(32), leaf, 2, 6, proof),  # another root
    ]
    for case in cases:
        assert verify_proof(*case) is False
        assert market.verifyProof(*case) is False


def test_padding_leaf_cannot_be_proven(market):
    tree = MerkleTree(a.leaves(5))  # slots 5..7 hold zero
    assert market.verifyProof(tree.root, bytes(32), 5, 5, tree.proof(4)) is False


def test_challenge_accepts_consecutive_leaves_of_the_commitment(market, submitted, challenger):
    task_id, tree = submitted
    dispute_id = a.challenge(market, challenger, task_id, tree, segment=len(tree) - 2)
    assert market.getTask(task_id).openDisputes == 1
    assert market.getDispute(dispute_id).segment == len(tree) - 2


def _challenge(market, challenger, task_id, segment, leaf_a, proof_a, leaf_b, proof_b):
    salt = b"\x03" * 32
    with boa.env.anchor():
        commit_id = a.commit_challenge(market, challenger, task_id, segment, salt)
        boa.env.time_travel(blocks=1)
        market.revealChallenge(commit_id, segment, leaf_a, proof_a, leaf_b, proof_b, salt, sender=challenger)


def test_challenge_rejects_proofs_of_other_leaves(market, submitted, challenger):
    task_id, tree = submitted
    other = MerkleTree(a.leaves(8, b"forged"))
    with boa.reverts("bad proof"):  # leaf A from another tree
        _challenge(market, challenger, task_id, 2, other.leaves[2], other.proof(2), tree.leaves[3], tree.proof(3))
    with boa.reverts("bad proof"):  # leaf B from another tree
        _challenge(market, challenger, task_id, 2, tree.leaves[2], tree.proof(2), other.leaves[3], other.proof(3))
    with boa.reverts("bad proof"):  # leaves of another segment
        _challenge(market, challenger, task_id, 2, tree.leaves[4], tree.proof(4), tree.leaves[5], tree.proof(5))
    with boa.reverts("bad segment"):  # the last leaf starts no segment
        _challenge(market, challenger, task_id, 7, tree.leaves[7], tree.proof(7), tree.leaves[7], tree.proof(7))
