"""Producing commitments without the worker: train a tiny spec, upload, post, claim, submit."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from engine.chain.market import ETHER, TaskMarket, TaskPosted
from engine.commit.leaf import leaf_hash
from engine.commit.merkle import MerkleTree
from engine.roles.results import LeafBlob, ResultManifest, blob_uri
from engine.storage import LocalStore, sha256_file
from engine.tasks.load import CheckedSpec, canonical_json, check, parse
from engine.training.trainer import Trainer
from engine.verifier.evidence import Commitment
from tests.specs import quick_mlp

REWARD = ETHER // 50          # 0.02 ETH
STAKE = ETHER // 10           # 0.1 ETH: k = 2 of 6 segments (k > 6 * 0.02 / 0.12 = 1)
WINDOW = 3600


@dataclass(frozen=True)
class TrainedJob:
    checked: CheckedSpec
    spec_bytes: bytes
    files: tuple[Path, ...]      # ckpt-00000 .. ckpt-0000n


def train_quick(root: Path) -> TrainedJob:
    checked = check(parse(quick_mlp()))
    Trainer(checked, root / "job").run()
    files = tuple(sorted((root / "job").glob("ckpt-*.safetensors")))
    assert len(files) == checked.spec.num_checkpoints
    return TrainedJob(checked, canonical_json(checked.spec), files)


def tampered(job: TrainedJob, index: int, dest: Path) -> tuple[Path, ...]:
    """The job's files with checkpoint ``index`` altered (one weight nudged): a worker that
    did not compute what it commits to, yet serves data that matches its root."""
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for i, path in enumerate(job.files):
        copy = dest / path.name
        if i == index:
            tensors = load_file(str(path))
            name = sorted(k for k in tensors if k.startswith("model."))[0]
            tensors[name] = tensors[name] + np.float32(1e-3)
            save_file(tensors, str(copy))
        else:
            shutil.copyfile(path, copy)
        files.append(copy)
    return tuple(files)


@dataclass(frozen=True)
class Uploaded:
    spec_sha: str
    tree: MerkleTree
    manifest: ResultManifest
    result_uri: str

    def commitment(self, task_id: int) -> Commitment:
        """What the chain would say about this result, for tests without a chain."""
        return Commitment(task_id, self.tree.root, len(self.tree), self.result_uri, bytes.fromhex(self.spec_sha))


def upload(store: LocalStore, job: TrainedJob, files: tuple[Path, ...] | None = None, *, task_id: int = 1,
           withhold: tuple[int, ...] = (), lie_about_leaf: int | None = None,
           served: dict[int, Path] | None = None, device: str = "cpu", arithmetic: str = "") -> Uploaded:
    """Upload the spec, the checkpoint ``files`` (default: the honest ones) and their manifest.

    ``withhold``: checkpoint indices whose files are never uploaded. ``lie_about_leaf``: the
    manifest lists a wrong leaf hash there (so its leaves no longer prove against the root).
    ``served``: the manifest points these checkpoints at other bytes than the ones committed.
    """
    served = served or {}
    files = files or job.files
    spec_sha = store.put_bytes(job.spec_bytes)
    leaves = [leaf_hash(load_file(str(p))) for p in files]
    tree = MerkleTree(leaves)
    blobs = []
    for i, path in enumerate(files):
        source = served.get(i, path)
        sha = sha256_file(source)[0] if i in withhold else store.put_file(source)
        blobs.append(LeafBlob(index=i, step=job.checked.spec.checkpoint_step(i),
                              leaf_hash=(bytes(32) if i == lie_about_leaf else leaves[i]).hex(), blob=sha,
                              size=source.stat().st_size))
    manifest = ResultManifest(task_id=task_id, spec_sha256=spec_sha, merkle_root="0x" + tree.root.hex(),
                              steps=job.checked.spec.steps, checkpoint_every=job.checked.spec.checkpoint_every,
                              leaves=tuple(blobs), device=device, arithmetic=arithmetic)
    return Uploaded(spec_sha, tree, manifest, blob_uri(store.put_bytes(manifest.to_bytes())))


@dataclass(frozen=True)
class Published:
    task_id: int
    tree: MerkleTree
    commit_block: int


def publish(store: LocalStore, requester: TaskMarket, worker: TaskMarket, job: TrainedJob,
            files: tuple[Path, ...] | None = None, *, reward: int = REWARD, stake: int = STAKE,
            **upload_options: object) -> Published:
    """Post the task, claim it as ``worker`` and commit ``files`` (see :func:`upload`)."""
    spec_sha = store.put_bytes(job.spec_bytes)
    receipt = requester.post_task(bytes.fromhex(spec_sha), blob_uri(spec_sha), reward=reward, worker_stake=stake,
                                  claim_timeout=3600, train_timeout=7200, challenge_window=WINDOW).send()
    (posted,) = [e for e in requester.events_in(receipt) if isinstance(e, TaskPosted)]
    worker.claim_task(posted.task_id).send()
    up = upload(store, job, files, task_id=posted.task_id, **upload_options)
    done = worker.submit_result(posted.task_id, up.tree.root, len(up.tree), up.result_uri).send()
    return Published(posted.task_id, up.tree, done["blockNumber"])
