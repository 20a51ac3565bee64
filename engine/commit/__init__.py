"""Commitments to a training run: checkpoint leaf hashes and the Merkle tree over them.

Torch-free on purpose: verifiers, the chain client and the contract tests use it too.
"""

from engine.commit.leaf import leaf_hash
from engine.commit.merkle import MerkleTree, verify_proof

__all__ = ["MerkleTree", "leaf_hash", "verify_proof"]
