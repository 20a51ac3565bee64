"""Leaf hashing and the Merkle tree: known answers (computed independently with
pycryptodome's keccak and hand-built encodings), and proof soundness."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from engine.commit.leaf import leaf_hash
from engine.commit.merkle import MerkleTree, depth, verify_proof
from engine.errors import CheckpointError

TENSORS = {"b": np.array(7, dtype=np.int64), "a": np.array([[1, 2], [3, 4]], dtype=np.float32)}
LEAF_KAT = "76704e8ce6b73fc44d6c3eb4080937e07367b8e98247a13dcfec02ffaa295d44"
LEAVES = [hashlib.sha256(bytes([i])).digest() for i in range(9)]


def test_leaf_hash_known_answer() -> None:
    assert leaf_hash(TENSORS).hex() == LEAF_KAT


def test_leaf_hash_ignores_insertion_order_and_memory_layout() -> None:
    a = TENSORS["a"]
    reordered = {"a": np.asfortranarray(a), "b": TENSORS["b"]}
    big_endian = {"a": a.astype(">f4"), "b": TENSORS["b"].astype(">i8")}
    assert leaf_hash(reordered).hex() == leaf_hash(big_endian).hex() == LEAF_KAT


@pytest.mark.parametrize(
    "change",
    [
        lambda t: {**t, "a": t["a"].reshape(4)},  # shape
        lambda t: {**t, "a": t["a"].astype(np.float64)},  # dtype
        lambda t: {**t, "a": t["a"] + np.float32(1e-7) * t["a"]},  # one ulp-scale change
        lambda t: {"c": t["a"], "b": t["b"]},  # name
        lambda t: {"a": t["a"]},  # a tensor missing
    ],
)
def test_leaf_hash_changes_with_any_difference(change) -> None:
    assert leaf_hash(change(TENSORS)).hex() != LEAF_KAT


def test_scalar_and_one_element_vector_are_different_tensors() -> None:
    assert leaf_hash({"s": np.array(1.0, np.float32)}) != leaf_hash({"s": np.array([1.0], np.float32)})


def test_leaf_hash_rejects_unsupported_dtype() -> None:
    with pytest.raises(CheckpointError, match="complex64"):
        leaf_hash({"z": np.zeros(2, dtype=np.complex64)})


def test_merkle_root_known_answers() -> None:
    assert MerkleTree(LEAVES[:1]).root.hex() == "80b8197192afa55cccf9ad04d36d67cc2237290acbbc1f4a009aba1a0ea1f9bc"
    assert MerkleTree(LEAVES[:3]).root.hex() == "d49e12a29326b10496caf475949e58e03cebe47d832c67b459b377fed7cc1539"


@pytest.mark.parametrize("n", range(1, 10))
def test_every_proof_verifies_and_has_depth_length(n: int) -> None:
    tree = MerkleTree(LEAVES[:n])
    for i in range(n):
        proof = tree.proof(i)
        assert len(proof) == depth(n)
        assert verify_proof(tree.root, LEAVES[i], i, n, proof)


def test_proof_fails_for_wrong_leaf_index_count_or_sibling() -> None:
    tree = MerkleTree(LEAVES[:5])
    proof = tree.proof(2)
    assert not verify_proof(tree.root, LEAVES[3], 2, 5, proof)  # wrong leaf
    assert not verify_proof(tree.root, LEAVES[2], 3, 5, proof)  # wrong index
    assert not verify_proof(tree.root, LEAVES[2], 2, 9, proof)  # deeper tree: wrong proof length
    assert not verify_proof(tree.root, LEAVES[2], 2, 5, [proof[0], proof[1], bytes(32)])


def test_padding_slots_cannot_be_proven() -> None:
    tree = MerkleTree(LEAVES[:5])  # slots 5..7 are zero padding
    assert not verify_proof(tree.root, bytes(32), 5, 5, tree.proof(4))
    with pytest.raises(IndexError):
        tree.proof(5)


def test_a_leaf_cannot_pose_as_an_inner_node() -> None:
    tree = MerkleTree(LEAVES[:4])
    inner = tree.levels[1][0]  # keccak(0x01 || l0 || l1)
    assert not verify_proof(tree.root, inner, 0, 2, [tree.levels[1][1]])


def test_tree_rejects_bad_leaves() -> None:
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(ValueError, match="leaf 0 is 31 bytes"):
        MerkleTree([b"x" * 31])
