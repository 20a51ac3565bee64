"""How many segments a verifier replays, and which: pure arithmetic, no chain, no torch.

A worker commits ``n`` segments (``n + 1`` checkpoints). If it faked ``m`` of them and a
verifier replays ``k`` segments drawn without replacement, the fake goes unnoticed only when
every draw misses the ``m`` faked ones::

    P(caught) = 1 - C(n - m, k) / C(n, k)

The cheapest cheat fakes a single segment (it saves ``1/n`` of the work); then
``P = k / n``, so only ``k = n`` (replaying everything) catches it for certain. What makes it
a losing bet anyway is the stake: the cheater's expected value

    EV = (1 - P) * reward - P * stake

is negative once ``k / n > reward / (reward + stake)``. That bound counts the whole reward as
the cheat's prize (as if the faked run had cost nothing), so it over-protects: the real saving
of faking one segment is about ``reward / n``. On top of it a verifier may ask for a detection
target: ``P >= detection`` for a run with a share ``faked_fraction`` of its segments faked.

The segments themselves come from a seed the worker cannot know when it commits: the hash of
the block after the commit block, mixed with the task id and the verifier's address, so two
verifiers sample different segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak

from engine.errors import UsageError


class AuditError(UsageError):
    """An audit parameter is out of range (a sample count, a probability, a share)."""


def detection_probability(n: int, m: int, k: int) -> Fraction:
    """P(at least one of ``k`` distinct segments out of ``n`` is one of the ``m`` faked ones)."""
    _check_counts(n, m, k)
    return 1 - Fraction(math.comb(n - m, k), math.comb(n, k))


def cheat_expected_value(n: int, k: int, reward: int, stake: int, m: int = 1) -> Fraction:
    """``(1 - P) * reward - P * stake`` in wei for a cheater faking ``m`` of ``n`` segments."""
    p = detection_probability(n, m, k)
    return (1 - p) * reward - p * stake


def samples_for_economics(n: int, reward: int, stake: int) -> int:
    """The smallest ``k`` that makes faking one segment a losing bet (EV < 0); ``n`` at most."""
    _check_amounts(reward, stake)
    for k in range(1, n + 1):
        if cheat_expected_value(n, k, reward, stake) < 0:
            return k
    return n


def samples_for_detection(n: int, m: int, target: float) -> int:
    """The smallest ``k`` with ``P(caught) >= target`` when ``m`` of ``n`` segments are faked."""
    _check_probability(target, "the detection target")
    goal = Fraction(target)
    for k in range(1, n + 1):
        if detection_probability(n, m, k) >= goal:
            return k
    return n


@dataclass(frozen=True)
class SamplePlan:
    """How many of a task's segments to replay, and what that buys."""

    segments: int          # n
    k: int                 # segments to replay
    by: str                # what set k: "economics", "detection", "fixed" (--samples)
    p_single: float        # P(caught) when one segment is faked
    p_target: float        # P(caught) when faked_fraction of the segments are faked
    cheat_ev_wei: int      # EV of faking one segment at this k (negative: a losing bet)

    def describe(self) -> str:
        return (f"{self.k} of {self.segments} segments ({self.by}): one faked segment caught with "
                f"P={self.p_single:.2f}, its EV {self.cheat_ev_wei / 1e18:+.4f} ETH")


def plan_samples(
    segments: int, reward: int, stake: int, *, detection: float = 0.99,
    faked_fraction: float = 1.0, fixed: int | None = None,
) -> SamplePlan:
    """``k`` for a task of ``segments`` segments: the larger of the economic bound and the
    detection target, or ``fixed`` (capped at ``segments``) when the user set one."""
    if segments < 1:
        raise AuditError(f"a task with {segments} segments cannot be audited",
                         hint="a committed result has at least two checkpoints, so one segment")
    _check_probability(faked_fraction, "the faked fraction", low_open=True)
    m = max(1, math.ceil(faked_fraction * segments))
    if fixed is not None:
        if fixed < 1:
            raise AuditError(f"--samples {fixed}: replay at least one segment", hint="use --samples 1 or more")
        k, by = min(fixed, segments), "fixed"
    else:
        k_econ = samples_for_economics(segments, reward, stake)
        k_target = samples_for_detection(segments, m, detection)
        k, by = (k_econ, "economics") if k_econ >= k_target else (k_target, "detection")
    return SamplePlan(
        segments=segments, k=k, by=by,
        p_single=float(detection_probability(segments, 1, k)),
        p_target=float(detection_probability(segments, m, k)),
        cheat_ev_wei=math.floor(cheat_expected_value(segments, k, reward, stake)),
    )


def audit_seed(block_hash: bytes, task_id: int, verifier: str) -> bytes:
    """keccak256(blockhash || uint256 task id || verifier address): unknown to the worker when
    it commits (the block comes after), and different for every verifier."""
    if len(block_hash) != 32:
        raise AuditError(f"a block hash is 32 bytes, not {len(block_hash)}")
    return keccak(block_hash + task_id.to_bytes(32, "big") + to_canonical_address(verifier))


def sample_segments(seed: bytes, segments: int, k: int) -> list[int]:
    """``k`` distinct segment indices in ``0..segments-1`` drawn from ``seed``, sorted.

    A partial Fisher-Yates shuffle; draw ``j`` uses keccak256(seed || uint32 j) modulo the
    remaining count (the bias of a 256-bit number modulo a small count is negligible).
    """
    _check_counts(segments, 0, k)
    pool = list(range(segments))
    for j in range(k):
        r = int.from_bytes(keccak(seed + j.to_bytes(4, "big")), "big") % (segments - j)
        pool[j], pool[j + r] = pool[j + r], pool[j]
    return sorted(pool[:k])


def _check_counts(n: int, m: int, k: int) -> None:
    if n < 1:
        raise AuditError(f"{n} segments: a task has at least one")
    if not 0 <= m <= n:
        raise AuditError(f"{m} faked segments out of {n}: must be 0..{n}")
    if not 0 <= k <= n:
        raise AuditError(f"{k} samples out of {n} segments: must be 0..{n}",
                         hint="segments are drawn without replacement")


def _check_amounts(reward: int, stake: int) -> None:
    if reward < 0 or stake < 0:
        raise AuditError(f"reward {reward} and stake {stake} must not be negative (wei)")


def _check_probability(value: float, what: str, *, low_open: bool = False) -> None:
    ok = (0 < value <= 1) if low_open else (0 <= value <= 1)
    if not isinstance(value, (int, float)) or not ok or math.isnan(value):
        raise AuditError(f"{what} {value!r} is not a probability ({'(0, 1]' if low_open else '[0, 1]'})",
                         hint="for example 0.99")
