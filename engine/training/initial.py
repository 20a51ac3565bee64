"""Checkpoint 0 is the spec's seeded initialisation, or the work is not the spec's.

Without this check a worker could plant any starting point (a model trained elsewhere,
weights that favour the requester's rival) and then train honestly from it: every segment
would replay. The initialisation is drawn on the CPU from the spec's seed (``STREAM_INIT``)
before the model moves to its device, so it is the same on every training device.
Measured (docs/verification.md): its bits are the same under ATEN_CPU_CAPABILITY avx512, avx2
and default on this project's VM; a CPU whose kernels did round differently is still judged
fairly, since in tolerance mode a checkpoint 0 that is not bit-equal is compared by distance.
"""

from __future__ import annotations

import torch

from engine.tasks.judgement import Judgement, Mode
from engine.tasks.load import CheckedSpec
from engine.training import checkpoint as ckpt
from engine.training.model import build_model
from engine.training.sampling import STREAM_INIT, derive
from engine.training.tolerance import Distance, distance
from engine.training.trainer import make_optimizer


def initial_snapshot(checked: CheckedSpec) -> ckpt.Snapshot:
    """Checkpoint 0 as an honest worker writes it: the seeded model, no optimizer state."""
    spec = checked.spec
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(derive(spec.seed, STREAM_INIT))
        model = build_model(spec)
    finally:
        torch.random.set_rng_state(generator_state)
    return ckpt.snapshot(0, model, make_optimizer(spec, model))


def initial_distance(checked: CheckedSpec, claimed: ckpt.Snapshot, judgement: Judgement) -> Distance:
    """How far ``claimed`` (a worker's checkpoint 0) is from the spec's initialisation: 0 when
    the hashes are equal; in exact mode infinite otherwise; in tolerance mode the relative
    distance of each tensor (there is no earlier checkpoint to measure an update from)."""
    honest = initial_snapshot(checked)
    if honest.leaf == claimed.leaf:
        return Distance(0.0, "")
    if judgement.mode is Mode.EXACT:
        return Distance(float("inf"), "(hash)")
    return distance(honest, claimed)
