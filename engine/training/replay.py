"""Re-executing one segment to check someone's work.

The verifier and the jury call ``replay`` with a start checkpoint they checked against the
committed Merkle root; the CLI's ``idlegrid replay`` does the same from a local job folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from engine.errors import CheckpointError, WrongArithmetic
from engine.tasks import spec as s
from engine.tasks.load import CheckedSpec
from engine.training import checkpoint as ckpt
from engine.training.datasets import BlobSource
from engine.training.determinism import arithmetic
from engine.training.jobdir import JobDir
from engine.training.trainer import Session


@dataclass(frozen=True)
class ReplayResult:
    segment: int
    match: bool
    expected: str
    got: str
    max_rel_diff: float | None = None  # tolerance mode only
    arithmetic: str | None = None  # what this replay computed with (determinism.arithmetic)

    def to_json(self) -> dict:
        out = {"segment": self.segment, "match": self.match, "expected": self.expected, "got": self.got}
        if self.max_rel_diff is not None:
            out["max_rel_diff"] = self.max_rel_diff
        if self.arithmetic is not None:
            out["arithmetic"] = self.arithmetic
        return out


def replay(checked: CheckedSpec, start: ckpt.Snapshot, end_step: int, *, device: str = "cpu",
           blobs: BlobSource | None = None, where: str = "start checkpoint") -> ckpt.Snapshot:
    """The checkpoint at ``end_step`` recomputed from ``start``."""
    if not 0 <= start.step < end_step <= checked.spec.steps:
        raise CheckpointError(f"{where} is at step {start.step}; cannot replay to step {end_step}")
    session = Session.open(checked, device, blobs)
    session.restore(start, where)
    session.run_segment(start.step, end_step)
    return session.snapshot(end_step)


def max_relative_diff(got: ckpt.Snapshot, expected: ckpt.Snapshot, atol: float) -> float:
    """Largest |got - expected| / (|expected| + atol) over all float tensors; inf on any
    structural difference (names, shapes, steps)."""
    if got.tensors.keys() != expected.tensors.keys() or got.step != expected.step:
        return float("inf")
    worst = 0.0
    for name, g in got.tensors.items():
        e = expected.tensors[name]
        if g.shape != e.shape or g.dtype != e.dtype:
            return float("inf")
        if not g.is_floating_point():
            if not torch.equal(g, e):
                return float("inf")
            continue
        rel = ((g - e).abs() / (e.abs() + atol)).max() if g.numel() else torch.tensor(0.0)
        worst = max(worst, float(rel))
    return worst


def judge(checked: CheckedSpec, segment: int, got: ckpt.Snapshot, expected_leaf: str,
          expected: ckpt.Snapshot | None) -> ReplayResult:
    """Exact mode: hashes equal. Relative mode: hashes equal, or the revealed checkpoint
    (whose hash is the committed leaf) within the spec's tolerance of the recomputed one."""
    got_leaf = got.leaf.hex()
    if got_leaf == expected_leaf:
        return ReplayResult(segment, True, expected_leaf, got_leaf,
                            0.0 if isinstance(checked.spec.verification, s.RelativeVerification) else None)
    tol = checked.spec.verification
    if isinstance(tol, s.RelativeVerification) and expected is not None:
        diff = max_relative_diff(got, expected, tol.atol)
        return ReplayResult(segment, diff <= tol.rtol, expected_leaf, got_leaf, diff)
    return ReplayResult(segment, False, expected_leaf, got_leaf)


def check_arithmetic(checked: CheckedSpec, device: str, expected: str | None) -> str:
    """This machine's arithmetic on ``device``; a ``WrongArithmetic`` when an exact-mode spec
    was trained with ``expected`` and that is not it (no verdict is possible here)."""
    here = arithmetic(device)
    if expected and isinstance(checked.spec.verification, s.ExactVerification) and expected != here:
        raise WrongArithmetic(f"the result was computed with {expected}; this machine computes with {here}, "
                              "and exact mode compares hashes bit for bit",
                              hint="replay on a machine with that arithmetic (the same CPU or GPU model and "
                                   "torch version), or use the spec's relative verification mode")
    return here


def replay_job_segment(checked: CheckedSpec, job_dir: str | Path, segment: int, *,
                       device: str = "cpu", blobs: BlobSource | None = None,
                       expect_arithmetic: str | None = None) -> ReplayResult:
    """Replay segment ``segment`` of a local job folder against its manifest's leaves."""
    here = check_arithmetic(checked, device, expect_arithmetic)
    job = JobDir(job_dir)
    m = job.read_manifest()
    if m is None:
        raise CheckpointError(f"{job.root} holds no job (no manifest.json)",
                              hint="point --from at the --out folder of `idlegrid train`")
    if m.spec_sha256 != checked.sha256:
        raise CheckpointError(f"{job.root} was trained from another spec ({m.spec_sha256[:12]}…)",
                              hint="give the spec file that job was trained from")
    segments = checked.spec.num_checkpoints - 1
    if not 0 <= segment < segments:
        raise CheckpointError(f"segment {segment} does not exist: the task has segments 0..{segments - 1}",
                              hint=f"use --segment 0 to {segments - 1}")
    if segment + 1 >= len(m.leaves):
        raise CheckpointError(f"{job.root} has no checkpoint {segment + 1} yet (the job is unfinished)",
                              hint=f"finish it with `idlegrid train SPEC --out {job.root}`, or replay an earlier segment")
    start = job.leaf_snapshot(m, segment)
    expected = job.leaf_snapshot(m, segment + 1)
    got = replay(checked, start, checked.spec.checkpoint_step(segment + 1), device=device, blobs=blobs,
                 where=str(job.checkpoint_path(segment)))
    return replace(judge(checked, segment, got, m.leaves[segment + 1], expected), arithmetic=here)
