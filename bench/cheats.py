"""Cheating workers' segments, for measuring verification (``bench.verify``) and testing it.

Each cheat starts from an honest checkpoint i and produces a checkpoint i+1 the way a worker
that saves compute or changes the result would: it uses the engine's own ``Session`` (same
batches, dropout draws and schedule) and departs from it in one way only. ``MID`` is the
step, counted from the segment's start, where the one-step cheats act.
"""

from __future__ import annotations

import enum
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from engine.tasks.load import CheckedSpec
from engine.training import checkpoint as ckpt
from engine.training.jobdir import JobDir
from engine.training.schedule import lr_at
from engine.training.trainer import Session, loss_fn

NOISE_RELATIVE = 1e-3  # the weight-noise cheat: Gaussian noise of 1e-3 x each weight tensor's RMS


class Cheat(enum.Enum):
    SKIP_STEP = "skip_step"  # one step of the segment not computed
    BF16 = "bf16"  # forward pass in bf16 autocast
    FP16 = "fp16"  # forward pass in fp16 autocast
    STALE_BATCH = "stale_batch"  # one step trains on the previous step's batch again
    SWAPPED_BATCHES = "swapped_batches"  # two consecutive steps' batches swapped
    LR_OFF = "lr_1pct"  # the learning rate 1 % high throughout
    NOISE = "weight_noise"  # honest segment, then noise added to the weights


def _batch_step(cheat: Cheat, st: int, mid: int) -> int:
    if cheat is Cheat.STALE_BATCH and st == mid:
        return st - 1
    if cheat is Cheat.SWAPPED_BATCHES and st in (mid, mid + 1):
        return mid + 1 if st == mid else mid
    return st


@contextmanager
def _autocast(cheat: Cheat, device: str) -> Iterator[None]:
    dtype = {Cheat.BF16: torch.bfloat16, Cheat.FP16: torch.float16}.get(cheat)
    if dtype is None:
        yield
    else:
        with torch.autocast(torch.device(device).type, dtype=dtype):
            yield


def cheat_step(session: Session, cheat: Cheat, st: int, mid: int) -> None:
    """``Session.step`` with ``cheat``'s departure (the engine's step, written out)."""
    spec, train, model, optimizer = session.checked.spec, session.data.train, session.model, session.optimizer
    idx = session.batch(_batch_step(cheat, st, mid))
    if session.dropout:
        session.draws.at_step(st)
    model.train()
    with _autocast(cheat, session.device):
        loss = loss_fn(spec, model(train.x[idx]), train.y[idx])
    optimizer.zero_grad(set_to_none=True)
    loss.float().backward()  # type: ignore[no-untyped-call]
    lr = lr_at(spec, st) * (1.01 if cheat is Cheat.LR_OFF else 1.0)
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.step()


def cheat_segment(checked: CheckedSpec, start: ckpt.Snapshot, end_step: int, cheat: Cheat,
                  device: str = "cpu") -> ckpt.Snapshot:
    """Checkpoint ``end_step`` as a worker cheating with ``cheat`` would commit it."""
    session = Session.open(checked, device)
    session.restore(start, "start")
    mid = start.step + (end_step - start.step) // 2
    for st in range(start.step, end_step):
        if cheat is Cheat.SKIP_STEP and st == mid:
            continue
        cheat_step(session, cheat, st, mid)
    snap = session.snapshot(end_step)
    if cheat is Cheat.NOISE:
        gen = torch.Generator().manual_seed(end_step)
        tensors = dict(snap.tensors)
        for name, t in snap.tensors.items():
            if name.startswith("model.") and t.is_floating_point():
                rms = float(t.pow(2).mean().sqrt())
                tensors[name] = t + torch.randn(t.shape, generator=gen) * (NOISE_RELATIVE * rms)
        snap = ckpt.Snapshot(snap.step, tensors, ckpt.hash_tensors(tensors))
    return snap


def planted_start(checked: CheckedSpec, seed: int) -> ckpt.Snapshot:
    """A checkpoint 0 that is not the spec's initialisation: the same model seeded otherwise."""
    from engine.training.model import build_model
    from engine.training.trainer import make_optimizer

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build_model(checked.spec)
    finally:
        torch.random.set_rng_state(state)
    return ckpt.snapshot(0, model, make_optimizer(checked.spec, model))


def nan_weights(snap: ckpt.Snapshot) -> ckpt.Snapshot:
    """``snap`` with one weight set to NaN (a worker committing a diverged result it never computed)."""
    tensors = dict(snap.tensors)
    name = next(k for k, v in tensors.items() if k.startswith("model.") and v.is_floating_point())
    poisoned = tensors[name].clone()
    poisoned.view(-1)[0] = float("nan")
    tensors[name] = poisoned
    return ckpt.Snapshot(snap.step, tensors, ckpt.hash_tensors(tensors))


def forge_job(job: Path, dst: Path, replaced: dict[int, ckpt.Snapshot]) -> Path:
    """A copy of job folder ``job`` at ``dst`` whose checkpoints ``replaced`` are the given
    snapshots, their leaves in the manifest: what a cheater commits (files and leaves agree)."""
    shutil.copytree(job, dst)
    jd = JobDir(dst)
    m = jd.read_manifest()
    if m is None:
        raise ValueError(f"{job} holds no job")
    for index, snap in replaced.items():
        ckpt.write(snap, jd.checkpoint_path(index))
        m.leaves[index] = snap.leaf.hex()
    jd.write_manifest(m)
    return dst
