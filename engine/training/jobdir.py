"""A training job's folder: checkpoints plus a manifest of what they hash to.

    manifest.json           spec hash, leaf hashes, resume point, final result
    leaves.log              leaf hashes written since the manifest: one "<index> <hex>" line each
    ckpt-00000.safetensors  checkpoint i = leaf i of the Merkle tree (step i * checkpoint_every)
    resume.safetensors      where a stopped job left off between two leaves

This module imports no torch (the worker, which may run inside the app, reads manifests
through it); reading checkpoints loads it on first use.

The manifest is rewritten atomically (temp file + rename) when training starts, stops and
ends; in between, each checkpoint file is written in place and then its leaf is appended to
``leaves.log``, one small write instead of a rename per checkpoint (a rename costs a small
model's checkpoint about as much as the write itself). Reading a manifest merges the log's
complete lines that continue its leaf list. On resume every file is checked against its
recorded hash, so a torn write only costs the work since the file before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import CheckpointError
from engine.safejson import JsonLimits, UntrustedJsonError, loads

if TYPE_CHECKING:
    from engine.training.checkpoint import Snapshot

MANIFEST_FORMAT = 1
_HEX = frozenset("0123456789abcdef")
MAX_LEAVES = 10_000_001  # a spec's steps / checkpoint_every + 1 never exceeds this
MANIFEST_LIMITS = JsonLimits(max_bytes=96 * MAX_LEAVES, max_depth=8, max_items=MAX_LEAVES + 10_000,
                             max_string=1 << 16, finite_only=False)  # a result's loss may be NaN
_MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "spec_sha256": str, "steps": int, "checkpoint_every": int, "leaves": list,
    "resume": (dict, type(None)), "result": (dict, type(None)),
}


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
    def log_path(self) -> Path:
        return self.root / "leaves.log"

    @property
    def resume_path(self) -> Path:
        return self.root / "resume.safetensors"

    def checkpoint_path(self, index: int) -> Path:
        return self.root / f"ckpt-{index:05d}.safetensors"

    def read_manifest(self) -> Manifest | None:
        afresh = "delete the folder to start the job afresh"
        try:
            with self.manifest_path.open("rb") as f:
                raw = loads(f.read(MANIFEST_LIMITS.max_bytes + 1), limits=MANIFEST_LIMITS, what="it")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CheckpointError(f"{self.manifest_path} is unreadable: {e.strerror or e}", hint=afresh) from None
        except UntrustedJsonError as e:
            raise CheckpointError(f"{self.manifest_path} is unreadable: {e.message}", hint=afresh) from None
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            raise CheckpointError(f"{self.manifest_path} is not an idlegrid job manifest", hint=afresh)
        raw.pop("format")
        try:
            manifest = Manifest(**raw)
        except TypeError as e:
            raise CheckpointError(f"{self.manifest_path} has unexpected fields: {e}", hint=afresh) from None
        self._check_types(manifest, afresh)
        manifest.leaves.extend(self._logged_leaves(len(manifest.leaves)))
        return manifest

    def _check_types(self, manifest: Manifest, hint: str) -> None:
        """Every field of the type the code reading it expects; leaves are 64 hex digits."""
        for name, kind in _MANIFEST_TYPES.items():
            value = getattr(manifest, name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise CheckpointError(f"{self.manifest_path}: field {name!r} has the wrong type", hint=hint)
        if not all(isinstance(leaf, str) and len(leaf) == 64 and set(leaf) <= _HEX for leaf in manifest.leaves):
            raise CheckpointError(f"{self.manifest_path}: a leaf is not 64 lowercase hex digits", hint=hint)

    def _logged_leaves(self, first: int) -> list[str]:
        """The log's leaves ``first``, ``first + 1``, ... as far as they run on unbroken.

        Lines for leaves the manifest already holds are skipped; a torn last line (a crash
        mid-append) ends the list, and so does anything that is not a leaf line.
        """
        try:
            text = self.log_path.read_bytes().decode("ascii")
        except (OSError, UnicodeDecodeError):  # none yet, or unreadable: the work since the manifest is redone
            return []
        found: list[str] = []
        for line in text.split("\n")[:-1]:  # the part after the last newline is torn or empty
            index, _, leaf = line.partition(" ")
            if not (index.isdigit() and len(index) <= 12 and len(leaf) == 64 and all(c in _HEX for c in leaf)):
                break
            if int(index) == first + len(found):
                found.append(leaf)
            elif int(index) > first + len(found):
                break
        return found

    def write_manifest(self, manifest: Manifest) -> None:
        """Atomically; the manifest then holds every leaf, so the log starts over."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(manifest.to_json(), indent=1), encoding="utf-8")
        os.replace(tmp, self.manifest_path)
        self.log_path.unlink(missing_ok=True)

    def open_log(self) -> LeafLog:
        return LeafLog(self.log_path)

    def last_valid_leaf(self, manifest: Manifest) -> int:
        """Index of the newest checkpoint whose file still hashes to its leaf, or -1.

        Checked newest first: resuming needs only that one, and older files are checked again
        whenever they are read (upload, replay).
        """
        from engine.training import checkpoint as ckpt

        for i in range(len(manifest.leaves) - 1, -1, -1):
            try:
                if ckpt.read(self.checkpoint_path(i)).leaf.hex() == manifest.leaves[i]:
                    return i
            except CheckpointError:
                pass
        return -1

    def leaf_snapshot(self, manifest: Manifest, index: int) -> Snapshot:
        """Checkpoint ``index``, refusing a file whose hash is not the recorded leaf."""
        from engine.training import checkpoint as ckpt

        if not 0 <= index < len(manifest.leaves):
            raise CheckpointError(f"{self.root} has no checkpoint {index} "
                                  f"(it has {len(manifest.leaves)}: 0..{len(manifest.leaves) - 1})")
        snap = ckpt.read(self.checkpoint_path(index))
        if snap.leaf.hex() != manifest.leaves[index]:
            raise CheckpointError(f"{self.checkpoint_path(index)} hashes to {snap.leaf.hex()}, "
                                  f"which is not leaf {index} of the job's tree ({manifest.leaves[index]})")
        return snap


class LeafLog:
    """Appends ``<index> <hex>`` lines to a job's ``leaves.log``; one ``write`` per leaf."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o666)

    def append(self, index: int, leaf: str) -> None:
        os.write(self._fd, f"{index} {leaf}\n".encode("ascii"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
