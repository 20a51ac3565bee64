"""The tolerance metric: per-tensor, not driven by near-zero elements, exact on non-finite values."""

from __future__ import annotations

import math

import torch

from engine.tasks.judgement import Judgement, Mode
from engine.training import checkpoint as ckpt
from engine.training.replay import ReplayResult, judge
from engine.training.tolerance import Metric, distance, tensor_distance

TOLERANT = Judgement(Mode.TOLERANCE, max_distance=1e-4)


def snap(**tensors: torch.Tensor) -> ckpt.Snapshot:
    t = {**tensors, ckpt.STEP_KEY: torch.tensor(5, dtype=torch.int64)}
    return ckpt.Snapshot(5, t, ckpt.hash_tensors(t))


def old_max_relative(g: torch.Tensor, e: torch.Tensor, atol: float = 1e-6) -> float:
    """The metric this replaces: the largest elementwise |g - e| / (|e| + atol)."""
    return float(((g - e).abs() / (e.abs() + atol)).max())


def test_a_near_zero_element_cannot_dominate() -> None:
    claimed = torch.linspace(-1, 1, 1001)  # holds an element at ~1e-9 of the rest
    claimed[500] = 1e-9
    got = claimed.clone()
    got[500] = 3e-9  # last-bit noise on a tiny value: 200 % relative to it
    assert old_max_relative(got, claimed) > 1e-3  # the old metric called this a large difference
    assert tensor_distance(got, claimed, None, Metric.RELATIVE_L2) < 1e-8
    assert tensor_distance(got, claimed, claimed - 0.01, Metric.UPDATE) < 1e-6


def test_update_metric_measures_against_the_segments_update() -> None:
    start = torch.ones(100)
    claimed = start + 0.01
    got = start + 0.0101  # 1 % off in the update, 1e-4 of the weights
    assert math.isclose(tensor_distance(got, claimed, start, Metric.UPDATE), 0.01, rel_tol=1e-3)
    assert math.isclose(tensor_distance(got, claimed, start, Metric.RELATIVE_L2), 1e-4 / 1.01, rel_tol=1e-2)


def test_nan_checkpoint_is_a_mismatch_unless_the_replay_has_nan_there() -> None:
    honest = torch.tensor([1.0, 2.0, 3.0])
    nan_claim = torch.tensor([1.0, float("nan"), 3.0])
    assert tensor_distance(honest, nan_claim, None) == math.inf  # old: max(0.0, nan) == 0.0 passed
    assert tensor_distance(nan_claim.clone(), nan_claim, None) == 0.0
    assert tensor_distance(torch.tensor([float("nan"), 2.0, 3.0]), nan_claim, None) == math.inf  # other place
    assert tensor_distance(torch.tensor([float("inf")]), torch.tensor([float("-inf")]), None) == math.inf
    assert tensor_distance(torch.tensor([float("inf"), 1.0]), torch.tensor([float("inf"), 1.0]), None) == 0.0


def test_a_nan_checkpoint_fails_the_judgement() -> None:
    got = snap(w=torch.ones(3))
    claimed = snap(w=torch.tensor([1.0, float("nan"), 1.0]))
    r = judge(TOLERANT, 4, got, claimed.leaf.hex(), claimed)
    assert isinstance(r, ReplayResult) and not r.match and r.tensor == "w"
    assert r.to_json()["distance"] == "inf"  # valid JSON, no bare Infinity


def test_structural_differences_are_infinitely_far() -> None:
    a = snap(w=torch.ones(3))
    assert distance(a, snap(w=torch.ones(4))).value == math.inf
    assert distance(a, snap(v=torch.ones(3))).value == math.inf
    assert distance(a, snap(w=torch.ones(3, dtype=torch.float64))).value == math.inf
    assert distance(a, snap(w=torch.ones(3), extra=torch.ones(1))).value == math.inf


def test_equal_tensors_are_at_zero_and_the_worst_tensor_is_named() -> None:
    a = snap(w=torch.ones(3), b=torch.full((2,), 2.0))
    b = snap(w=torch.ones(3), b=torch.tensor([2.0, 2.2]))
    d = distance(b, a)
    assert d.tensor == "b" and 0.05 < d.value < 0.1
    assert distance(a, a).value == 0.0
