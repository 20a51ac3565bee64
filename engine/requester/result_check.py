"""Checking a result without trusting its worker: the manifest against the chain, the final
checkpoint against the manifest.

Both checks need nobody's good faith: the manifest's leaf hashes must rebuild the Merkle root
the worker committed on chain (and name the task and the spec that was posted), and the
downloaded final checkpoint must hash to the manifest's last leaf. Torch-free: the checkpoint
is hashed with numpy, so this runs inside the GUI process too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.chain.market import Task
from engine.chain.records_v2 import TaskV2
from engine.commit.merkle import MerkleTree
from engine.requester.errors import ResultInvalid
from engine.roles.results import ResultManifest

if TYPE_CHECKING:
    from engine.storage import BlobStore


def check_manifest(manifest: ResultManifest, task: Task | TaskV2, posted_spec: str | None) -> None:
    """Refuse, naming every mismatch, a manifest that is not the one the chain committed to:
    another task's, another root's, another leaf count's, leaves that do not rebuild the root,
    or (where ``posted_spec`` is known) another spec's."""
    root = "0x" + task.merkle_root.hex()
    problems = []
    if manifest.task_id != task.task_id:
        problems.append(f"it is for task {manifest.task_id}")
    if manifest.merkle_root.lower() != root:
        problems.append(f"it names root {manifest.merkle_root}, not the committed {root}")
    if len(manifest.leaves) != task.num_leaves:
        problems.append(f"it lists {len(manifest.leaves)} leaves, the chain {task.num_leaves}")
    elif MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves]).root != task.merkle_root:
        problems.append(f"its leaf hashes do not rebuild the committed root {root}")
    if posted_spec is not None and manifest.spec_sha256 != posted_spec:
        problems.append(f"it is for spec {manifest.spec_sha256}, not the posted {posted_spec}")
    if problems:
        raise ResultInvalid(f"task {task.task_id}: the result manifest does not match the chain: "
                            f"{'; '.join(problems)}",
                            hint="the worker's result cannot be trusted; a verifier can challenge it "
                            "within the challenge window")


def download_final_checkpoint(store: BlobStore, manifest: ResultManifest, out: Path) -> Path:
    """The manifest's last checkpoint, downloaded into ``out`` and checked against its leaf
    (a file that does not match is removed, never left looking like a result)."""
    final = manifest.leaves[-1]
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / f"ckpt-{final.index:05d}.safetensors"
    store.get_file(final.blob, ckpt, max_size=final.size)
    got = checkpoint_leaf_hash(ckpt)
    if got != final.leaf_hash:
        ckpt.unlink(missing_ok=True)
        raise ResultInvalid(f"task {manifest.task_id}: the final checkpoint hashes to leaf {got}, "
                            f"but the manifest commits to {final.leaf_hash}",
                            hint="the worker published a checkpoint that is not the one it committed to")
    return ckpt


def checkpoint_leaf_hash(path: Path) -> str:
    """The leaf hash (hex) of a safetensors checkpoint, read with numpy (no torch)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from engine.commit.leaf import leaf_hash

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ResultInvalid(f"the downloaded checkpoint {path} is not a readable safetensors file ({e})") from None
    return leaf_hash(tensors).hex()


def write_json(path: Path, body: dict[str, Any]) -> None:
    """``body`` as ``path``, replaced whole (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
