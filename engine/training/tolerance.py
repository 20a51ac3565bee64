"""How far a replayed checkpoint is from a revealed one, per tensor, on any arithmetic.

The old metric, the largest elementwise |g - e| / (|e| + atol), was driven by elements near
zero: an honest replay on another CPU reached 3.1 on tiny-charlm, more than some cheats.
Here each tensor is judged as a whole, by an L2 norm of its difference divided by an L2 norm
that near-zero elements cannot shrink:

* ``relative_l2``: ||got - claimed|| / ||claimed||;
* ``update``: ||got - claimed|| / ||claimed - start||, the difference between the two
  segments' updates relative to the claimed update (``start`` is checkpoint i). A tensor the
  segment barely moves (weights late in training) no longer hides a cheat in its size.

``bench.verify`` measures both on every shipped example (honest replays across kernel
levels against seven cheats). ``relative_l2`` has the larger smallest margin (measured:
576 against 316 on digits-cnn, 699 against 352 on digits-mlp, docs/verification.md): the
honest divergence grows with the update as much as the cheats do, so dividing by the update
gained nothing, and the plain relative norm needs no start checkpoint. ``METRIC`` is it.

Non-finite values are judged exactly: they match only where the replay has the same value
(NaN, +inf or -inf) in the same place; elsewhere the tensor's distance is infinite. Integer
tensors (the step) must be equal. Names, shapes and dtypes must agree.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import torch

from engine.training.checkpoint import Snapshot


class Metric(enum.Enum):
    RELATIVE_L2 = "relative_l2"
    UPDATE = "update"


METRIC = Metric.RELATIVE_L2


@dataclass(frozen=True)
class Distance:
    """The largest per-tensor distance and the tensor it was found in ("" when all match)."""

    value: float
    tensor: str

    def within(self, max_distance: float) -> bool:
        return self.value <= max_distance  # False for NaN too: never NaN here, but never lenient


def _nonfinite_agree(g: torch.Tensor, e: torch.Tensor) -> bool:
    """Same NaN, +inf and -inf positions in both."""
    return (torch.equal(torch.isnan(g), torch.isnan(e)) and torch.equal(torch.isposinf(g), torch.isposinf(e))
            and torch.equal(torch.isneginf(g), torch.isneginf(e)))


def _finite64(t: torch.Tensor, finite: torch.Tensor) -> torch.Tensor:
    return torch.where(finite, t.to(torch.float64), 0.0)


def tensor_distance(got: torch.Tensor, claimed: torch.Tensor, start: torch.Tensor | None,
                    metric: Metric = METRIC) -> float:
    """One tensor's distance under ``metric`` (``start`` None: a tensor checkpoint i lacks,
    such as optimizer state before the first step, whose update is the tensor itself)."""
    if not got.is_floating_point():
        return 0.0 if torch.equal(got, claimed) else math.inf
    if not _nonfinite_agree(got, claimed):
        return math.inf
    finite = torch.isfinite(claimed)
    g, e = _finite64(got, finite), _finite64(claimed, finite)
    diff = float(torch.linalg.vector_norm(g - e))
    if diff == 0.0:
        return 0.0
    if metric is Metric.UPDATE and start is not None and start.shape == claimed.shape:
        scale = float(torch.linalg.vector_norm(e - _finite64(start, finite & torch.isfinite(start))))
    else:
        scale = float(torch.linalg.vector_norm(e))
    return diff / scale if scale > 0.0 else math.inf


def distance(got: Snapshot, claimed: Snapshot, start: Snapshot | None = None,
             metric: Metric = METRIC) -> Distance:
    """The largest ``tensor_distance`` over the checkpoint; infinite on any structural
    difference (steps, tensor names, shapes or dtypes)."""
    if got.step != claimed.step or got.tensors.keys() != claimed.tensors.keys():
        return Distance(math.inf, "(structure)")
    worst = Distance(0.0, "")
    for name, g in got.tensors.items():
        e = claimed.tensors[name]
        if g.shape != e.shape or g.dtype != e.dtype:
            return Distance(math.inf, name)
        before = start.tensors.get(name) if start is not None else None
        d = tensor_distance(g, e, before, metric)
        if d > worst.value:
            worst = Distance(d, name)
    return worst
