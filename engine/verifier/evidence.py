"""Checking one segment of a committed result: fetch, prove against the root, replay, judge.

Verifiers and jurors share this, so a challenger and the jury reach the same verdict from the
same data. Torch stays out of this process: checkpoints are hashed with numpy
(``engine.commit.leaf``) and the segment is replayed by a ``idlegrid replay`` subprocess on a
job folder assembled from the downloaded blobs.

The rules (what a juror votes on, what a verifier challenges):

- The result manifest must list ``num_leaves`` leaf hashes whose Merkle root is the committed
  one, and the spec must have that many checkpoints. Without leaves that prove against the
  root nobody can challenge (the contract takes proofs), so a manifest that is missing or does
  not match is reported, not challenged.
- Checkpoints ``i`` and ``i + 1`` of a sampled segment must be downloadable, hash to their
  committed leaves and hold the step the spec puts there. A worker that withholds or corrupts
  one cannot show its work: verdict ``bad_data``, grounds to challenge (and to vote "cheated").
- A checkpoint the worker answered a data demand for (v2's ``answerData``) is fetched from the
  blob address that answer fixed on chain (``answered``), not from the manifest's: the answer is
  the worker's word on where the data is. It is checked like any other (its leaf, its step), and
  missing or wrong there it is ``bad_data`` whatever the manifest names.
- Replaying segment ``i`` from checkpoint ``i`` must give checkpoint ``i + 1`` (bit for bit,
  or within the spec's tolerance): else ``mismatch``.
- A replay that fails on checkpoints that hash to their committed leaves (an optimizer state
  that makes torch raise, tensors of the wrong shape or dtype) is the worker's data at fault,
  *if* a control replay (one step from the spec's seeded initialisation) runs here: verdict
  ``bad_data``. When the control fails too, the fault is ours (a broken install, no such
  device): ``ReplayFailed`` is raised, nobody is blamed, and the caller tries again later, as
  for the blob server being down.
- How the replay is judged comes from the spec (``engine.tasks.judgement``); nothing the
  worker's manifest declares (its device, its arithmetic) changes it. An exact-mode spec that
  names other arithmetic than ours raises ``CannotJudgeHere`` (no verdict from us).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from engine.commit.leaf import leaf_hash
from engine.commit.merkle import MerkleTree
from engine.errors import IdlegridError, SpecError, WrongArithmetic
from engine.roles.results import ResultFormatError, ResultManifest, parse_blob_uri
from engine.spawn import idlegrid_command
from engine.storage.errors import BlobCorrupt, BlobNotFound, BlobTooLarge
from engine.storage.store import BlobStore
from engine.tasks import spec as s
from engine.tasks.load import MAX_SPEC_BYTES, CheckedSpec, check, parse

MAX_MANIFEST_BYTES = 16 * 1024 * 1024
STEP_KEY = "meta.step"


class Verdict(str, Enum):
    HONEST = "honest"        # the replay reproduced checkpoint i + 1
    MISMATCH = "mismatch"    # the replay gave another checkpoint
    BAD_DATA = "bad_data"    # a checkpoint is missing, corrupt, or not what the root commits to

    @property
    def worker_honest(self) -> bool:
        return self is Verdict.HONEST


class UnverifiableResult(IdlegridError):
    """The result's manifest or spec is unusable, so no segment can be proven or challenged."""


class ManifestMissing(UnverifiableResult):
    """The result manifest cannot be downloaded (not found, corrupt, too large): the worker's
    data to produce. On v1 nothing can be done; on v2 a verifier demands a checkpoint on chain."""


class CannotJudgeHere(UnverifiableResult):
    """The spec is exact mode and names other arithmetic than this machine's: only verifiers
    with that arithmetic judge it. Decided by the spec alone, never by the worker's manifest."""


class ReplayFailed(IdlegridError):
    """Our own replay could not run (not the worker's fault); try again later."""


@dataclass(frozen=True)
class Commitment:
    """What the chain says about one result (ResultSubmitted + the task's TaskPosted)."""

    task_id: int
    merkle_root: bytes
    num_leaves: int
    result_uri: str
    spec_hash: bytes


@dataclass(frozen=True)
class Result:
    """A commitment's spec and manifest, checked against the chain."""

    commitment: Commitment
    spec_bytes: bytes
    checked: CheckedSpec
    manifest: ResultManifest
    tree: MerkleTree

    @property
    def segments(self) -> int:
        return self.commitment.num_leaves - 1


@dataclass(frozen=True)
class SegmentCheck:
    """The verdict on one segment, with what a challenge of it needs."""

    segment: int
    verdict: Verdict
    detail: str
    leaf_a: bytes
    proof_a: tuple[bytes, ...]
    leaf_b: bytes
    proof_b: tuple[bytes, ...]
    missing: int | None = None   # BAD_DATA because checkpoint ``missing`` cannot be downloaded


def fetch_result(store: BlobStore, commitment: Commitment) -> Result:
    """Download and check the spec (by its on-chain hash) and the result manifest (by the root).

    Raises UnverifiableResult for data that can never be checked, StorageError subclasses
    other than "not found"/"corrupt"/"too large" for trouble worth retrying.
    """
    spec_sha = commitment.spec_hash.hex()
    spec_bytes = _get_or_unverifiable(store, spec_sha, MAX_SPEC_BYTES, "the task's spec")
    try:
        checked = check(parse(spec_bytes, origin=f"spec blob {spec_sha[:12]}"))
    except SpecError as e:
        raise UnverifiableResult(f"task {commitment.task_id}: its spec is invalid: {e.message}") from None
    try:
        manifest_sha = parse_blob_uri(commitment.result_uri)
        manifest = ResultManifest.from_bytes(
            _get_or_unverifiable(store, manifest_sha, MAX_MANIFEST_BYTES, "the result manifest", ManifestMissing))
    except ResultFormatError as e:
        raise UnverifiableResult(f"task {commitment.task_id}: the result manifest is unusable: {e.message}") from None
    leaves = [bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves]
    if len(leaves) != commitment.num_leaves:
        raise UnverifiableResult(f"task {commitment.task_id}: the manifest lists {len(leaves)} leaves, "
                                 f"the chain {commitment.num_leaves}")
    tree = MerkleTree(leaves)
    if tree.root != commitment.merkle_root:
        raise UnverifiableResult(f"task {commitment.task_id}: the manifest's leaves hash to 0x{tree.root.hex()}, "
                                 f"not the committed root 0x{commitment.merkle_root.hex()}")
    return Result(commitment, spec_bytes, checked, manifest, tree)


def check_segment(result: Result, segment: int, store: BlobStore, work_dir: Path, *,
                  device: str = "cpu", timeout_s: float = 3600.0, max_checkpoint_bytes: int = 2 << 30,
                  in_process: bool = False, answered: Mapping[int, str] | None = None) -> SegmentCheck:
    """Verdict on ``segment`` (leaf ``segment`` -> ``segment + 1``) with the challenge's proofs.

    ``answered``: checkpoint index -> the blob address (sha256 hex) a data demand's answer fixed
    on chain; those checkpoints are fetched from there instead of the manifest's address.

    ``in_process`` replays here (torch is imported on first use: only for a process of its
    own, like ``idlegrid verifier``; it saves the subprocess's start-up, seconds per segment);
    otherwise an ``idlegrid replay`` subprocess does it, keeping torch out of this process."""
    if not 0 <= segment < result.segments:
        raise ValueError(f"segment {segment} is not in 0..{result.segments - 1}")
    tree = result.tree

    def verdict(v: Verdict, detail: str, missing: int | None = None) -> SegmentCheck:
        return SegmentCheck(segment, v, detail, tree.leaves[segment], tuple(tree.proof(segment)),
                            tree.leaves[segment + 1], tuple(tree.proof(segment + 1)), missing)

    spec = result.checked.spec
    if result.commitment.num_leaves != spec.num_checkpoints:
        return verdict(Verdict.BAD_DATA, f"the result commits {result.commitment.num_leaves} checkpoints; "
                                         f"the spec makes {spec.num_checkpoints}")
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=f"task{result.commitment.task_id}-seg{segment}-") as tmp:
        job = Path(tmp)
        for index in (segment, segment + 1):
            blob = (answered or {}).get(index)
            where = "" if blob is None else f" (at blob {blob[:12]}, where the worker's answer to a data demand put it)"
            try:
                problem = _fetch_checkpoint(result, index, store, job, max_checkpoint_bytes, blob)
            except (BlobNotFound, BlobCorrupt, BlobTooLarge) as e:
                return verdict(Verdict.BAD_DATA, f"checkpoint {index}{where} is unavailable: {e.message}", index)
            if problem is not None:
                return verdict(Verdict.BAD_DATA, problem)
        blobs = _fetch_dataset(spec, store, work_dir / "datasets")
        _write_job(result, job)
        if in_process:
            return verdict(*_replay_here(result, segment, job, blobs, device))
        return verdict(*_replay(result, segment, job, blobs, device, timeout_s))


def _get_or_unverifiable(store: BlobStore, sha256: str, max_size: int, what: str,
                         error: type[UnverifiableResult] = UnverifiableResult) -> bytes:
    try:
        return store.get_bytes(sha256, max_size=max_size)
    except (BlobNotFound, BlobCorrupt, BlobTooLarge) as e:
        raise error(f"{what} (blob {sha256[:12]}) cannot be had: {e.message}") from None


def _checkpoint_name(index: int) -> str:
    return f"ckpt-{index:05d}.safetensors"  # engine.training.jobdir's layout


def _fetch_checkpoint(result: Result, index: int, store: BlobStore, job: Path, max_size: int,
                      blob: str | None = None) -> str | None:
    """Download checkpoint ``index`` into ``job`` (from ``blob``, else the manifest's address); what
    is wrong with it (the worker's fault), or None. A blob that cannot be had raises (BlobNotFound,
    BlobCorrupt, BlobTooLarge): v2 demands it on chain, unless it was answered already."""
    path = job / _checkpoint_name(index)
    store.get_file(blob or result.manifest.leaf(index).blob, path, max_size=max_size)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        return f"checkpoint {index} is not a readable safetensors file: {e}"
    try:
        got = leaf_hash(tensors)
    except IdlegridError as e:
        return f"checkpoint {index}: {e.message}"
    if got != result.tree.leaves[index]:
        return f"checkpoint {index} hashes to {got.hex()}, not its committed leaf {result.tree.leaves[index].hex()}"
    step = tensors.get(STEP_KEY)
    want = result.checked.spec.checkpoint_step(index)
    if step is None or step.dtype != np.int64 or step.ndim != 0 or int(step) != want:
        return f"checkpoint {index} is not at step {want}, where the spec puts it"
    return None


def _fetch_dataset(spec: s.TaskSpec, store: BlobStore, root: Path) -> Path:
    """A folder holding the spec's dataset blob (if it has one), named by sha256."""
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(spec.dataset, s.BlobData):
        target = root / spec.dataset.sha256
        if not target.exists():
            store.get_file(spec.dataset.sha256, target, max_size=spec.dataset.size)
    return root


def _write_job(result: Result, job: Path) -> None:
    """Make ``job`` a job folder (engine.training.jobdir) holding the committed leaves and the spec."""
    spec = result.checked.spec
    (job / "spec.json").write_bytes(result.spec_bytes)
    (job / "manifest.json").write_text(json.dumps({
        "format": 1, "spec_sha256": result.checked.sha256, "steps": spec.steps,
        "checkpoint_every": spec.checkpoint_every, "leaves": [leaf.hex() for leaf in result.tree.leaves],
        "resume": None, "result": None,
    }))


def _replay_here(result: Result, segment: int, job: Path, blobs: Path, device: str) -> tuple[Verdict, str]:
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import pick_device
    from engine.training.replay import control_replay, replay_job_segment

    where = pick_device(device)

    def control() -> str | None:
        try:
            control_replay(result.checked, device=where, blobs=LocalBlobs(blobs))
        except Exception as e:
            return str(getattr(e, "message", e))
        return None

    try:
        out = replay_job_segment(result.checked, job, segment, device=where, blobs=LocalBlobs(blobs))
    except WrongArithmetic as e:
        raise CannotJudgeHere(f"task {result.commitment.task_id}: {e.message}", hint=e.hint) from None
    except Exception as e:
        return _failure(str(getattr(e, "message", e)), segment, control)
    if out.match:
        return Verdict.HONEST, _honest(out.got, out.expected, out.distance, out.tensor)
    return Verdict.MISMATCH, f"replay gave leaf {out.got[:16]}, the worker committed {out.expected[:16]}: {out.reason}"


def _failure(message: str, segment: int, control: Callable[[], str | None],
             code: int | None = None) -> tuple[Verdict, str]:
    """A replay from hash-valid checkpoints that could not run: bad data when a control replay
    of a known-good start (the spec's seeded initialisation) runs here; else our own fault."""
    exit_code = "" if code is None else f" (exit {code})"
    local = control()
    if local is None:
        return Verdict.BAD_DATA, (f"the replay of segment {segment} from the worker's checkpoints failed{exit_code} "
                                  f"while a control replay from the spec's initialisation ran: {message}")
    raise ReplayFailed(f"the replay of segment {segment} failed{exit_code}: {message}; a control replay from the "
                       f"spec's initialisation failed too ({local}), so the fault is this machine's",
                       hint="nothing was challenged; fix the verifier's setup (torch, device, dataset) and "
                            "the audit goes on")


def _replay(result: Result, segment: int, job: Path, blobs: Path, device: str,
            timeout_s: float) -> tuple[Verdict, str]:
    """Run ``idlegrid replay`` on an assembled job folder; its exit code is the verdict."""
    spec_path = job / "spec.json"
    common = ("--blobs", str(blobs), "--device", device)
    command = idlegrid_command("replay", str(spec_path), "--from", str(job), "--segment", str(segment), *common)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ReplayFailed(f"replaying segment {segment} took longer than {timeout_s:.0f} s",
                               hint="raise the verifier's replay timeout, or replay on a GPU") from None

    def control() -> str | None:
        done = run(idlegrid_command("replay", str(spec_path), "--control", *common))
        return None if done.returncode == 0 else f"exit {done.returncode}: {_last_lines(done.stderr)}"

    done = run(command)
    if done.returncode in (0, 1):
        try:
            out = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ReplayFailed(f"the replay of segment {segment} printed no result: {done.stdout[-300:]!r}") from None
        if done.returncode == 0:
            return Verdict.HONEST, _honest(out["got"], out["expected"], out.get("distance"), out.get("tensor", ""))
        return Verdict.MISMATCH, (f"replay gave leaf {out['got'][:16]}, the worker committed {out['expected'][:16]}: "
                                  f"{out.get('reason', '')}")
    if done.returncode == WrongArithmetic.exit_code:
        raise CannotJudgeHere(f"task {result.commitment.task_id}: {_last_lines(done.stderr)}")
    return _failure(_last_lines(done.stderr), segment, control, done.returncode)


def _honest(got: str, expected: str, distance: object, tensor: str) -> str:
    """What an honest verdict rests on: the same leaf, or (other arithmetic) within tolerance."""
    if got == expected:
        return f"replay reproduced leaf {got[:16]}"
    if isinstance(distance, float):
        return (f"replay gave leaf {got[:16]}, within tolerance of the committed {expected[:16]} "
                f"({tensor}: {distance:.3g})")
    return f"replay gave leaf {got[:16]}, within tolerance of {expected[:16]}"


def _last_lines(stderr: str) -> str:
    return " ".join(stderr.strip().splitlines()[-2:]) if stderr.strip() else "(no output)"
