"""The sampling arithmetic of engine.verifier.audit: detection probabilities, the economic bound, the seed."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from engine.verifier.audit import (
    AuditError,
    audit_seed,
    cheat_expected_value,
    detection_probability,
    plan_samples,
    sample_segments,
    samples_for_detection,
    samples_for_economics,
)

ETH = 10**18
VERIFIER_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
VERIFIER_B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_one_faked_segment_is_caught_with_probability_k_over_n() -> None:
    for k in range(13):
        assert detection_probability(12, 1, k) == Fraction(k, 12)


def test_detection_probability_matches_the_hypergeometric_formula() -> None:
    # 2 of 12 faked, 9 sampled: missed only when all 9 come from the 10 honest ones
    assert detection_probability(12, 2, 9) == 1 - Fraction(math.comb(10, 9), math.comb(12, 9))
    assert detection_probability(12, 12, 1) == 1
    assert detection_probability(12, 0, 12) == 0


def test_worked_example_of_the_readme() -> None:
    reward, stake = 5 * ETH // 100, 2 * ETH // 100
    # k > n * reward / (reward + stake) = 12 * 5 / 7 = 8.57
    assert samples_for_economics(12, reward, stake) == 9
    assert cheat_expected_value(12, 8, reward, stake) > 0
    assert cheat_expected_value(12, 9, reward, stake) == Fraction(-25, 10_000) * ETH
    plan = plan_samples(12, reward, stake)
    assert (plan.k, plan.by, plan.p_single, plan.p_target) == (9, "economics", 0.75, 1.0)
    assert plan.cheat_ev_wei == -25 * ETH // 10_000


def test_a_bigger_stake_needs_fewer_samples() -> None:
    reward = ETH
    needed = [samples_for_economics(12, reward, stake) for stake in (ETH // 10, ETH, 10 * ETH)]
    assert needed == [11, 7, 2]


def test_certainty_against_a_single_faked_segment_needs_every_segment() -> None:
    assert samples_for_detection(12, 1, 1.0) == 12
    assert samples_for_detection(12, 1, 0.99) == 12


def test_the_detection_target_can_outweigh_the_economics() -> None:
    # a quarter faked (3 of 12) caught with P >= 0.99 needs 9 samples (1 - 1/220); the stake alone 2
    assert samples_for_detection(12, 3, 0.99) == 9
    plan = plan_samples(12, ETH, 10 * ETH, detection=0.99, faked_fraction=0.25)
    assert (plan.k, plan.by) == (9, "detection")
    assert plan.p_target >= 0.99


def test_a_fully_faked_run_is_caught_by_one_sample() -> None:
    assert samples_for_detection(12, 12, 0.99) == 1


def test_fixed_samples_are_capped_at_the_segment_count() -> None:
    assert plan_samples(6, ETH, ETH, fixed=100).k == 6
    assert plan_samples(6, ETH, ETH, fixed=2).by == "fixed"


@pytest.mark.parametrize("kwargs, words", [
    ({"fixed": 0}, "at least one"),
    ({"detection": 1.5}, "not a probability"),
    ({"faked_fraction": 0.0}, "not a probability"),
    ({"detection": float("nan")}, "not a probability"),
])
def test_bad_parameters_are_refused_with_a_hint(kwargs: dict, words: str) -> None:
    with pytest.raises(AuditError, match=words) as e:
        plan_samples(12, ETH, ETH, **kwargs)
    assert e.value.hint


def test_bad_counts_are_refused() -> None:
    with pytest.raises(AuditError, match="samples out of"):
        detection_probability(5, 1, 6)
    with pytest.raises(AuditError, match="faked segments"):
        detection_probability(5, 6, 1)
    with pytest.raises(AuditError, match="cannot be audited"):
        plan_samples(0, ETH, ETH)
    with pytest.raises(AuditError, match="negative"):
        samples_for_economics(5, -1, ETH)


def test_samples_are_distinct_sorted_and_reproducible() -> None:
    seed = audit_seed(bytes(range(32)), 7, VERIFIER_A)
    picked = sample_segments(seed, 12, 9)
    assert picked == sorted(set(picked)) and len(picked) == 9
    assert all(0 <= i < 12 for i in picked)
    assert sample_segments(seed, 12, 9) == picked
    assert sample_segments(seed, 12, 12) == list(range(12))


def test_the_seed_depends_on_block_task_and_verifier() -> None:
    block = bytes(range(32))
    seeds = {audit_seed(block, 7, VERIFIER_A), audit_seed(block, 8, VERIFIER_A),
             audit_seed(block, 7, VERIFIER_B), audit_seed(bytes(32), 7, VERIFIER_A)}
    assert len(seeds) == 4
    with pytest.raises(AuditError, match="32 bytes"):
        audit_seed(b"short", 7, VERIFIER_A)


def test_samples_spread_over_all_segments() -> None:
    # over many seeds each of 12 segments is drawn about equally often (one sample each)
    counts = [0] * 12
    for t in range(1200):
        (i,) = sample_segments(audit_seed(bytes(32), t, VERIFIER_A), 12, 1)
        counts[i] += 1
    assert min(counts) > 60 and max(counts) < 140
