"""How a dishonest worker fakes a training job, for the end-to-end tests of the network.

Each strategy takes a *finished honest* job folder (``engine.training.jobdir``) and replaces
checkpoint ``segment + 1`` by a fake one, then trains the rest of the job honestly from the
fake, so the folder holds a self-consistent but wrong tree: every file hashes to its leaf,
the manifest's leaves give one Merkle root, and only segment ``segment`` fails a replay.
That is the hardest kind of cheat for a verifier: nothing but re-execution can tell.

- ``skipped_steps``: the segment is trained with its last steps left out (saves compute);
  the checkpoint still claims the segment's end step.
- ``random_weights``: the model's tensors are replaced by random ones (no compute at all).
- ``stale``: checkpoint ``segment + 1`` repeats checkpoint ``segment`` (with the step moved
  on so it looks like progress).
- ``wrong_data``: the segment is trained on another data seed (another split and batch
  order), e.g. a cheaper or poisoned data set.
- ``bf16``: the segment's forward passes in bf16 autocast (``bench.cheats``: cheaper arithmetic).
- ``skip_one_step``: one step of the segment not computed (``bench.cheats``).
- ``bogus_manifest``: ``skip_one_step``, and the result manifest declares device "mps" and
  arithmetic "mixed" (tests/e2e/cheater.py), which once turned every replay into "no verdict".
- ``nan_weights``: the honest checkpoint with one weight set to NaN.
- ``crash_optimizer``: the honest checkpoint with Adam's step = -1.5 in every parameter's state,
  which makes torch raise when a replay starts from it; the later checkpoints stay honest (a
  replay of them from it is impossible), so the segment after it fails as bad data.
- ``planted_zero``: checkpoint 0 is not the spec's seeded initialisation (another seed), and
  the whole job is trained honestly from it: only segment 0's initialisation check fails.

Torch is imported here: this module runs only in the cheating worker's process and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.cheats import Cheat as BenchCheat
from bench.cheats import cheat_segment, planted_start
from bench.cheats import nan_weights as poisoned
from engine.errors import CheckpointError, UsageError
from engine.tasks.load import CheckedSpec, check, parse
from engine.training import checkpoint as ckpt
from engine.training.jobdir import JobDir, Manifest
from engine.training.trainer import Session, Trainer, TrainResult

#: how many of the segment's steps ``skipped_steps`` leaves out (at most all but one)
SKIP = 5
#: seed of the random tensors of ``random_weights``
RANDOM_SEED = 1234


class UnknownStrategy(UsageError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown cheating strategy {name!r}", hint=f"use one of: {', '.join(STRATEGIES)}")


@dataclass(frozen=True)
class Tampered:
    """What a strategy left in the job folder: the faked tree and which segment lies."""

    strategy: str
    segment: int
    result: TrainResult

    @property
    def merkle_root(self) -> str:
        return self.result.merkle_root


def _honest(job: JobDir, checked: CheckedSpec, segment: int) -> Manifest:
    """The job's manifest, checked to be a finished job of this spec with that segment."""
    m = job.read_manifest()
    if m is None or m.spec_sha256 != checked.sha256 or len(m.leaves) != checked.spec.num_checkpoints:
        raise CheckpointError(f"{job.root} does not hold a finished job of spec {checked.sha256[:12]}",
                              hint="train it honestly first (engine.training.trainer.Trainer)")
    segments = checked.spec.num_checkpoints - 1
    if not 0 <= segment < segments:
        raise CheckpointError(f"segment {segment} does not exist: the task has segments 0..{segments - 1}")
    return m


def _retrain(checked: CheckedSpec, start: ckpt.Snapshot, steps: range, end_step: int,
             session: Session | None = None) -> ckpt.Snapshot:
    """Run ``steps`` from ``start`` and label the state ``end_step``, whatever was run."""
    session = session or Session.open(checked)
    session.restore(start, "start checkpoint")
    for st in steps:
        session.step(st)
    return session.snapshot(end_step)


def skipped_steps(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    start = job.leaf_snapshot(m, segment)
    end = checked.spec.checkpoint_step(segment + 1)
    run_to = max(start.step + 1, end - SKIP)
    return _retrain(checked, start, range(start.step, run_to), end)


def random_weights(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    honest = job.leaf_snapshot(m, segment + 1)
    gen = torch.Generator().manual_seed(RANDOM_SEED + segment)
    tensors = {}
    for name, t in honest.tensors.items():
        if name.startswith("model.") and t.is_floating_point():
            tensors[name] = (torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.1).contiguous()
        else:
            tensors[name] = t
    return ckpt.Snapshot(honest.step, tensors, ckpt.hash_tensors(tensors))


def stale(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    before = job.leaf_snapshot(m, segment)
    tensors = dict(before.tensors)
    step = checked.spec.checkpoint_step(segment + 1)
    tensors[ckpt.STEP_KEY] = torch.tensor(step, dtype=torch.int64)
    return ckpt.Snapshot(step, tensors, ckpt.hash_tensors(tensors))


def wrong_data_spec(checked: CheckedSpec) -> CheckedSpec:
    """The same task on another data seed: the dataset's own seed where it has one, else the
    task seed (which picks the digits' train/held-out split and the batch order)."""
    raw = checked.spec.model_dump(mode="json")
    if "seed" in raw["dataset"]:
        raw["dataset"]["seed"] += 1
    else:
        raw["seed"] += 1
    return check(parse(raw))


def wrong_data(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    start = job.leaf_snapshot(m, segment)
    end = checked.spec.checkpoint_step(segment + 1)
    session = Session.open(wrong_data_spec(checked))
    return _retrain(checked, start, range(start.step, end), end, session)


def _bench(cheat: BenchCheat) -> Callable[[CheckedSpec, JobDir, Manifest, int], ckpt.Snapshot]:
    def strategy(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
        return cheat_segment(checked, job.leaf_snapshot(m, segment), checked.spec.checkpoint_step(segment + 1), cheat)
    return strategy


def nan_weights(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    return poisoned(job.leaf_snapshot(m, segment + 1))


def crash_optimizer(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    honest = job.leaf_snapshot(m, segment + 1)
    tensors = {name: torch.tensor(-1.5, dtype=t.dtype) if name.startswith("optim.") and name.endswith(".step") else t
               for name, t in honest.tensors.items()}
    return ckpt.Snapshot(honest.step, tensors, ckpt.hash_tensors(tensors))


def planted_zero(checked: CheckedSpec, job: JobDir, m: Manifest, segment: int) -> ckpt.Snapshot:
    return planted_start(checked, PLANTED_SEED)


#: strategies whose fake is checkpoint 0 rather than ``segment + 1``
AT_ZERO = {"planted_zero"}
#: strategies after whose fake nothing is retrained (the honest later checkpoints stay)
NO_RETRAIN = {"crash_optimizer"}
#: the seed of ``planted_zero``'s checkpoint 0
PLANTED_SEED = 99

Strategy = Callable[[CheckedSpec, JobDir, Manifest, int], ckpt.Snapshot]
STRATEGIES: dict[str, Strategy] = {
    "skipped_steps": skipped_steps,
    "random_weights": random_weights,
    "stale": stale,
    "wrong_data": wrong_data,
    "bf16": _bench(BenchCheat.BF16),
    "skip_one_step": _bench(BenchCheat.SKIP_STEP),
    "bogus_manifest": _bench(BenchCheat.SKIP_STEP),
    "nan_weights": nan_weights,
    "crash_optimizer": crash_optimizer,
    "planted_zero": planted_zero,
}


def tamper(strategy: str, checked: CheckedSpec, job_dir: str | Path, segment: int) -> Tampered:
    """Fake segment ``segment`` of the finished honest job in ``job_dir`` with ``strategy``,
    then train the rest honestly from the fake, so the manifest's tree is self-consistent."""
    if strategy not in STRATEGIES:
        raise UnknownStrategy(strategy)
    job = JobDir(job_dir)
    m = _honest(job, checked, segment)
    fake = STRATEGIES[strategy](checked, job, m, segment)
    at = 0 if strategy in AT_ZERO else segment + 1
    if strategy in NO_RETRAIN:
        ckpt.write(fake, job.checkpoint_path(at))
        m.leaves[at] = fake.leaf.hex()
        job.write_manifest(m)
        return Tampered(strategy, segment, Trainer(checked, job.root).run())
    for i in range(at, len(m.leaves)):
        job.checkpoint_path(i).unlink(missing_ok=True)
    ckpt.write(fake, job.checkpoint_path(at))
    m.leaves = [*m.leaves[:at], fake.leaf.hex()]
    m.resume = None
    m.result = None
    job.write_manifest(m)
    return Tampered(strategy, segment, Trainer(checked, job.root).run())
