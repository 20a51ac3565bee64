"""Uploading a trained job: its checkpoints, then the result manifest that names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.commit.merkle import MerkleTree
from engine.errors import CheckpointError
from engine.roles.results import LeafBlob, ResultManifest
from engine.training.jobdir import JobDir
from engine.worker.states import Job, WorkerError
from engine.worker.training import Training


class Uploads(Training):
    """Reads the finished job folder (leaves, root, result) and puts it in the blob store."""

    def _read_result(self, job: Job, folder: Path) -> tuple[bytes, list[str], dict[str, Any]]:
        """The finished job's leaves (checked complete), their Merkle root and the result."""
        try:
            manifest = JobDir(folder).read_manifest()
        except CheckpointError as e:
            raise WorkerError(f"job folder {folder} has no readable manifest.json ({e})",
                              hint="delete the folder: the job then trains again from the start") from None
        if manifest is None:
            raise WorkerError(f"job folder {folder} has no manifest.json",
                              hint="delete the folder: the job then trains again from the start")
        leaves, result = list(manifest.leaves), manifest.result or {}
        want = job.checked.spec.num_checkpoints
        if len(leaves) != want:
            raise WorkerError(f"job folder {folder} holds {len(leaves)} checkpoints, the task has {want}",
                              hint="delete the folder: the job then trains again from the start")
        return MerkleTree([bytes.fromhex(leaf) for leaf in leaves]).root, leaves, result

    def _upload(self, job: Job, committed_root: str | None) -> str:
        """Every checkpoint, then the result manifest; the manifest's sha256. Idempotent.

        The checkpoints uploaded while the job trained (:mod:`engine.worker.uploader`) are
        taken as they are when their leaf and file still match the folder; the rest (none
        uploaded yet, a failed upload, a file rewritten since: a resumed job) are uploaded here."""
        root, leaves, result = self._read_result(job, job.dir)
        root_hex = "0x" + root.hex()
        if committed_root is not None and committed_root != root_hex:
            raise WorkerError(f"job folder {job.dir} now hashes to root {root_hex}, not the {committed_root} "
                              f"recorded when training ended",
                              hint="the folder was changed; restore it or delete the job")
        spec = job.checked.spec
        uploader = self._uploaders.pop(job.task_id, None)
        ready = uploader.finish(leaves) if uploader is not None else {}
        blobs = []
        for i, leaf in enumerate(leaves):
            if (up := ready.get(i)) is not None:
                blob, size = up.blob, up.identity[1]
            else:
                path = job.dir / f"ckpt-{i:05d}.safetensors"
                blob, size = self.store.put_file(path), path.stat().st_size
            blobs.append(LeafBlob(index=i, step=spec.checkpoint_step(i), leaf_hash=leaf, blob=blob, size=size))
        trained = self._row(job.task_id).detail or {}
        manifest = ResultManifest(task_id=job.task_id, spec_sha256=job.checked.sha256, merkle_root=root_hex,
                                  steps=spec.steps, checkpoint_every=spec.checkpoint_every, leaves=tuple(blobs),
                                  final_loss=result.get("final_loss"), metrics=dict(result.get("metrics") or {}),
                                  device=trained.get("device", "cpu"), arithmetic=trained.get("arithmetic", ""))
        return self.store.put_bytes(manifest.to_bytes())
