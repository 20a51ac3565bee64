"""Batch order and random streams as pure functions of (seed, step).

A segment must be replayable from its start checkpoint alone, so nothing here keeps state
between steps: the batch of step ``s`` is computed from ``seed`` and ``s``. Shuffling is by
epochs (each sample once per epoch) with a permutation derived from (seed, epoch).

The generator is SplitMix64 on numpy uint64 arrays (integer arithmetic only), so every
machine and every numpy version produces the same order; numpy's own Generator makes no
such promise across versions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

STREAM_SPLIT = 1
STREAM_BATCHES = 2
STREAM_DROPOUT = 3
STREAM_DATA = 4
STREAM_INIT = 5


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser applied to each element (uint64 in, uint64 out)."""
    z = x.astype(np.uint64) + _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


_MASK = 0xFFFFFFFFFFFFFFFF


def _splitmix64_int(x: int) -> int:
    """``splitmix64`` of one value as Python ints mod 2**64: the same bits, without numpy's
    per-call overhead (``derive`` runs every training step)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def derive(seed: int, stream: int, *counters: int) -> int:
    """A 63-bit seed for one purpose (``stream``) at one point (``counters``)."""
    acc = _splitmix64_int(seed & _MASK)
    for c in (stream, *counters):
        acc = _splitmix64_int(acc ^ (c & _MASK))
    return acc >> 1


def derive_prefix(seed: int, stream: int) -> int:
    """``derive``'s state after ``seed`` and ``stream``: ``derive_next(derive_prefix(seed,
    stream), c) == derive(seed, stream, c)``, for a stream drawn from at every step."""
    return _splitmix64_int(_splitmix64_int(seed & _MASK) ^ (stream & _MASK))


def derive_next(prefix: int, counter: int) -> int:
    """``derive(seed, stream, counter)`` from ``derive_prefix(seed, stream)``."""
    return _splitmix64_int(prefix ^ (counter & _MASK)) >> 1


def uniform(key: int, n: int) -> np.ndarray:
    """``n`` float64 uniforms in [0, 1), exact: 53 random bits scaled by a power of two."""
    bits = splitmix64(np.uint64(key) + np.arange(n, dtype=np.uint64))
    return (bits >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def normal(key: int, n: int) -> np.ndarray:
    """Approximately standard normal draws (Irwin-Hall of 12 uniforms), bit-reproducible.

    Only exact integer ops and a fixed order of float additions: no libm, whose last bit
    differs across CPUs.
    """
    acc = np.zeros(n, dtype=np.float64)
    for j in range(12):
        acc += uniform(derive(key, j), n)
    return acc - 6.0


@lru_cache(maxsize=4)
def permutation(seed: int, stream: int, epoch: int, n: int) -> np.ndarray:
    keys = splitmix64(np.uint64(derive(seed, stream, epoch)) + np.arange(n, dtype=np.uint64))
    perm = np.argsort(keys, kind="stable")
    perm.flags.writeable = False
    return perm


def batch_indices(seed: int, step: int, batch_size: int, n: int) -> np.ndarray:
    """Indices into the training split for step ``step`` (0-based)."""
    first = step * batch_size
    pos = np.arange(first, first + batch_size, dtype=np.int64)
    epochs = pos // n
    out = np.empty(batch_size, dtype=np.int64)
    for e in np.unique(epochs):
        mask = epochs == e
        out[mask] = permutation(seed, STREAM_BATCHES, int(e), n)[pos[mask] % n]
    return out


def split_indices(seed: int, n: int, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) sample indices, a fixed shuffle of ``range(n)`` by the seed."""
    perm = permutation(seed, STREAM_SPLIT, 0, n)
    k = int(n * holdout)
    return np.sort(perm[k:]), np.sort(perm[:k])
