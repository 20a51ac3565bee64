"""A training job's folder: checkpoints plus a manifest of what they hash to.

    manifest.json           spec hash, leaf hashes so far, resume point, final result
    ckpt-00000.safetensors  checkpoint i = leaf i of the Merkle tree (step i * checkpoint_every)
    resume.safetensors      where a stopped job left off between two leaves

The manifest is rewritten atomically after each file it names; on resume every file is
checked against its recorded hash, so a torn write only costs the work since the file before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import CheckpointError
from engine.training import checkpoint as ckpt

MANIFEST_FORMAT = 1


@dataclass
class Manifest:
    spec_sha256: str
    steps: int
    checkpoint_every: int
    leaves: list[str] = field(default_factory=list)
    resume: dict[str, Any] | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": MANIFEST_FORMAT, **self.__dict__}


class JobDir:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def resume_path(self) -> Path:
        return self.root / "resume.safetensors"

    def checkpoint_path(self, index: int) -> Path:
        return self.root / f"ckpt-{index:05d}.safetensors"

    def read_manifest(self) -> Manifest | None:
        try:
            raw = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise CheckpointError(f"{self.manifest_path} is unreadable: {e}",
                                  hint="delete the folder to start the job afresh") from None
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            raise CheckpointError(f"{self.manifest_path} is not an idlegrid job manifest")
        raw.pop("format")
        try:
            return Manifest(**raw)
        except TypeError as e:
            raise CheckpointError(f"{self.manifest_path} has unexpected fields: {e}") from None

    def write_manifest(self, manifest: Manifest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(manifest.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def last_valid_leaf(self, manifest: Manifest) -> int:
        """Index of the newest checkpoint whose file still hashes to its leaf, or -1.

        Checked newest first: resuming needs only that one, and older files are checked again
        whenever they are read (upload, replay).
        """
        for i in range(len(manifest.leaves) - 1, -1, -1):
            try:
                if ckpt.read(self.checkpoint_path(i)).leaf.hex() == manifest.leaves[i]:
                    return i
            except CheckpointError:
                pass
        return -1

    def leaf_snapshot(self, manifest: Manifest, index: int) -> ckpt.Snapshot:
        """Checkpoint ``index``, refusing a file whose hash is not the recorded leaf."""
        if not 0 <= index < len(manifest.leaves):
            raise CheckpointError(f"{self.root} has no checkpoint {index} "
                                  f"(it has {len(manifest.leaves)}: 0..{len(manifest.leaves) - 1})")
        snap = ckpt.read(self.checkpoint_path(index))
        if snap.leaf.hex() != manifest.leaves[index]:
            raise CheckpointError(f"{self.checkpoint_path(index)} hashes to {snap.leaf.hex()}, "
                                  f"which is not leaf {index} of the job's tree ({manifest.leaves[index]})")
        return snap
