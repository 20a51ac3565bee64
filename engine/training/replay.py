"""Re-executing one segment to check someone's work.

The verifier and the jury call ``replay`` with a start checkpoint they checked against the
committed Merkle root; the CLI's ``idlegrid replay`` does the same from a local job folder.
How the result is judged comes from the spec alone (``engine.tasks.judgement``): bitwise
hashes when the spec names its arithmetic, else the tolerance metric of
``engine.training.tolerance``. Nothing a worker's manifest declares is read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import CheckpointError, WrongArithmetic
from engine.tasks.judgement import Judgement, Mode, judgement_for
from engine.tasks.load import CheckedSpec
from engine.training import checkpoint as ckpt
from engine.training.datasets import BlobSource
from engine.training.determinism import arithmetic
from engine.training.initial import initial_distance, initial_snapshot
from engine.training.jobdir import JobDir
from engine.training.tolerance import distance
from engine.training.trainer import Session


@dataclass(frozen=True)
class ReplayResult:
    segment: int
    match: bool
    expected: str
    got: str
    distance: float | None = None  # tolerance mode only: the largest per-tensor distance
    tensor: str = ""  # where that distance was found
    arithmetic: str | None = None  # what this replay computed with (determinism.arithmetic)
    reason: str = ""  # why a mismatch is one, in words

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"segment": self.segment, "match": self.match, "expected": self.expected,
                                  "got": self.got}
        if self.distance is not None:
            out["distance"] = self.distance if math.isfinite(self.distance) else str(self.distance)
            out["tensor"] = self.tensor
        if self.arithmetic is not None:
            out["arithmetic"] = self.arithmetic
        if self.reason:
            out["reason"] = self.reason
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


def judge(judgement: Judgement, segment: int, got: ckpt.Snapshot, expected_leaf: str,
          expected: ckpt.Snapshot | None, start: ckpt.Snapshot | None = None) -> ReplayResult:
    """Exact mode: hashes equal. Tolerance mode: hashes equal, or the revealed checkpoint
    (whose hash is the committed leaf) within ``max_distance`` of the recomputed one, the
    distance measured against ``start`` (checkpoint i) where the metric uses it."""
    got_leaf = got.leaf.hex()
    tolerance = judgement.mode is Mode.TOLERANCE
    if got_leaf == expected_leaf:
        return ReplayResult(segment, True, expected_leaf, got_leaf, 0.0 if tolerance else None)
    if not tolerance or expected is None or judgement.max_distance is None:
        return ReplayResult(segment, False, expected_leaf, got_leaf, reason="the hashes differ")
    d = distance(got, expected, start)
    ok = d.within(judgement.max_distance)
    why = "" if ok else f"tensor {d.tensor} is {d.value:.3g} from the replay (at most {judgement.max_distance:g})"
    return ReplayResult(segment, ok, expected_leaf, got_leaf, d.value, d.tensor, reason=why)


def check_arithmetic(judgement: Judgement, device: str) -> str:
    """This machine's arithmetic on ``device``; a ``WrongArithmetic`` when the spec names
    other arithmetic (exact mode): no verdict is possible here, and none is asked of us."""
    here = arithmetic(device)
    if not judgement.can_judge(here):
        raise WrongArithmetic(f"the spec requires arithmetic {judgement.arithmetic}; this machine computes with "
                              f"{here}, and exact mode compares hashes bit for bit",
                              hint="replay on a machine with that arithmetic (the same CPU or GPU model, kernel "
                                   "level and torch version)")
    return here


def check_initial(checked: CheckedSpec, judgement: Judgement, claimed: ckpt.Snapshot) -> ReplayResult:
    """Checkpoint 0 judged against the spec's seeded initialisation (segment 0's precondition)."""
    d = initial_distance(checked, claimed, judgement)
    ok = d.within(judgement.max_distance if judgement.max_distance is not None else 0.0)
    why = "" if ok else ("checkpoint 0 is not the spec's seeded initialisation "
                         f"(tensor {d.tensor or '?'}: {d.value:.3g})")
    return ReplayResult(0, ok, claimed.leaf.hex(), "initialisation",
                        d.value if judgement.mode is Mode.TOLERANCE else None, d.tensor, reason=why)


def control_replay(checked: CheckedSpec, *, device: str = "cpu", blobs: BlobSource | None = None) -> None:
    """One step from the spec's seeded initialisation: a known-good start that must replay.

    A verifier runs it when a replay of a worker's (hash-valid) checkpoint fails: if the control
    runs, the failure came from the worker's data (bad data, challenged); if the control fails
    too, the fault is this machine's, and nobody is blamed. Raises whatever the replay raises."""
    replay(checked, initial_snapshot(checked), min(1, checked.spec.steps), device=device, blobs=blobs,
           where="the control checkpoint (the spec's seeded initialisation)")


def replay_job_segment(checked: CheckedSpec, job_dir: str | Path, segment: int, *,
                       device: str = "cpu", blobs: BlobSource | None = None) -> ReplayResult:
    """Replay segment ``segment`` of a local job folder against its manifest's leaves; segment 0
    first checks checkpoint 0 against the spec's initialisation."""
    judgement = judgement_for(checked.spec)
    here = check_arithmetic(judgement, device)
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
                              hint=f"finish it with `idlegrid train SPEC --out {job.root}`, "
                                   "or replay an earlier segment")
    start = job.leaf_snapshot(m, segment)
    if segment == 0:
        initial = check_initial(checked, judgement, start)
        if not initial.match:
            return replace(initial, arithmetic=here)
    expected = job.leaf_snapshot(m, segment + 1)
    got = replay(checked, start, checked.spec.checkpoint_step(segment + 1), device=device, blobs=blobs,
                 where=str(job.checkpoint_path(segment)))
    return replace(judge(judgement, segment, got, m.leaves[segment + 1], expected, start), arithmetic=here)
