"""Merkle tree over checkpoint leaf hashes, built to be checked by the TaskMarket contract.

The exact rules (the Vyper contract implements ``verify_proof`` with the same steps):

- A leaf is the 32-byte SHA-256 leaf hash of one checkpoint (``engine.commit.leaf``); leaf
  ``i`` is checkpoint ``i``, leaf 0 the initial weights, so segment ``i`` goes from leaf ``i``
  to leaf ``i + 1``.
- Leaf node: ``keccak256(0x00 || leaf)``. Inner node: ``keccak256(0x01 || left || right)``.
  The prefixes keep a leaf from posing as an inner node (second-preimage safety).
- ``depth(n)`` is the smallest ``d`` with ``2**d >= n`` (``depth(1) == 0``). The bottom level
  has ``2**depth`` slots; slots ``n..2**depth-1`` hold ``bytes32(0)``.
- The root is the single node at the top; with one leaf it is that leaf's node.
- A proof for leaf ``i`` is the list of ``depth(n)`` sibling nodes from the bottom up. To check
  it: require ``i < n`` and ``len(proof) == depth(n)``; ``node = leaf_node(leaf)``; for each
  sibling: if ``i`` is even ``node = inner(node, sibling)`` else ``node = inner(sibling, node)``;
  ``i //= 2``. The proof holds iff ``node == root``.

The contract stores ``(root, n)`` at commit time, so ``n`` is never taken from a proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_hash.auto import keccak

ZERO = bytes(32)


def leaf_node(leaf: bytes) -> bytes:
    return keccak(b"\x00" + leaf)


def inner_node(left: bytes, right: bytes) -> bytes:
    return keccak(b"\x01" + left + right)


def depth(n: int) -> int:
    """Levels above the leaves for ``n`` leaves (``n >= 1``)."""
    if n < 1:
        raise ValueError("a Merkle tree needs at least one leaf")
    return (n - 1).bit_length()


class MerkleTree:
    """All levels of the tree, so proofs cost no hashing."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        for i, leaf in enumerate(leaves):
            if len(leaf) != 32:
                raise ValueError(f"leaf {i} is {len(leaf)} bytes, not 32")
        self.leaves = list(leaves)
        d = depth(len(self.leaves))
        level = [leaf_node(x) for x in self.leaves] + [ZERO] * ((1 << d) - len(self.leaves))
        self.levels = [level]
        while len(level) > 1:
            level = [inner_node(level[k], level[k + 1]) for k in range(0, len(level), 2)]
            self.levels.append(level)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def __len__(self) -> int:
        return len(self.leaves)

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < len(self.leaves):
            raise IndexError(f"leaf {index} is not in a tree of {len(self.leaves)} leaves")
        path = []
        for level in self.levels[:-1]:
            path.append(level[index ^ 1])
            index //= 2
        return path


def verify_proof(root: bytes, leaf: bytes, index: int, n: int, proof: Sequence[bytes]) -> bool:
    """True iff ``leaf`` is leaf ``index`` of the ``n``-leaf tree with this ``root``."""
    if n < 1 or not 0 <= index < n or len(proof) != depth(n):
        return False
    node = leaf_node(leaf)
    for sibling in proof:
        node = inner_node(node, sibling) if index % 2 == 0 else inner_node(sibling, node)
        index //= 2
    return node == root
