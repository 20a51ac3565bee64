"""A worker's side of a task, done by hand: train with the real CLI, upload, commit.

The requester tests need a real result on chain before the worker engineer's Worker exists;
this publishes one exactly as engine/results.py specifies (checkpoint blobs, a manifest blob,
``submitResult`` with the manifest's blob URI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from engine.chain.market import TaskMarket
from engine.commit.merkle import MerkleTree
from engine.roles.results import LeafBlob, ResultManifest, blob_uri
from engine.storage import BlobStore

REPO = Path(__file__).resolve().parents[3]


def train(spec: Path, out: Path, home: Path) -> dict:
    """``idlegrid train SPEC --out DIR`` in a subprocess (torch stays out of the test process)."""
    proc = subprocess.run([sys.executable, "-m", "engine", "train", str(spec), "--out", str(out), "-q",
                           "--device", "cpu"], cwd=REPO, env={**os.environ, "IDLEGRID_HOME": str(home)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def manifest_of(job: Path, task_id: int, store: BlobStore) -> ResultManifest:
    """Upload every checkpoint of ``job`` and describe them as the result manifest."""
    local = json.loads((job / "manifest.json").read_text())
    leaves = []
    for index, leaf_hash in enumerate(local["leaves"]):
        path = job / f"ckpt-{index:05d}.safetensors"
        step = min(index * local["checkpoint_every"], local["steps"])
        leaves.append(LeafBlob(index, step, leaf_hash, store.put_file(path), path.stat().st_size))
    result = local["result"]
    root = "0x" + MerkleTree([bytes.fromhex(h) for h in local["leaves"]]).root.hex()
    return ResultManifest(task_id=task_id, spec_sha256=local["spec_sha256"], merkle_root=root,
                          steps=local["steps"], checkpoint_every=local["checkpoint_every"], leaves=tuple(leaves),
                          final_loss=result.get("final_loss"), metrics=result.get("metrics", {}))


def claim_and_commit(worker: TaskMarket, store: BlobStore, task_id: int, manifest: ResultManifest) -> None:
    worker.claim_task(task_id).send()
    uri = blob_uri(store.put_bytes(manifest.to_bytes()))
    root = bytes.fromhex(manifest.merkle_root.removeprefix("0x"))
    worker.submit_result(task_id, root, len(manifest.leaves), uri).send()


def with_leaf(manifest: ResultManifest, index: int, **changes: object) -> ResultManifest:
    leaves = list(manifest.leaves)
    leaves[index] = replace(leaves[index], **changes)
    return replace(manifest, leaves=tuple(leaves))
