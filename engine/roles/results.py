"""The formats that travel between requester, worker and verifier besides the chain itself.

On chain a task carries ``specHash`` (bytes32) and a URI; a result carries the Merkle root, the
number of leaves and a URI. Everything else lives in content-addressed blobs, so the three
conventions below are the whole wire format:

- A spec is uploaded as its canonical JSON (``engine.tasks.load.canonical_json``); its sha256
  is both the on-chain ``specHash`` and the blob address, and the task URI is ``blob:<hex>``.
  A worker therefore checks a downloaded spec by hashing the bytes it got, nothing else.
- Each checkpoint file (safetensors) is uploaded as is; its blob address is the sha256 of the
  file, which is *not* its leaf hash (the leaf hash is over the canonical tensor encoding and is
  what the Merkle tree commits to). The verifier downloads by blob address and checks by leaf hash.
- The result URI is ``blob:<hex>`` of a :class:`ResultManifest` (canonical JSON) that maps
  each leaf index to its blob and records the final metrics and the device type trained on.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import IdlegridError

URI_SCHEME = "blob:"
RESULT_FORMAT = "idlegrid-result/1"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ResultFormatError(IdlegridError):
    """A URI or result manifest from the network is malformed (someone else's bad data)."""


def blob_uri(sha256_hex: str) -> str:
    return URI_SCHEME + check_sha256(sha256_hex)


def parse_blob_uri(uri: str) -> str:
    """The sha256 a ``blob:<hex>`` URI names; a clear error for anything else."""
    if not isinstance(uri, str) or not uri.startswith(URI_SCHEME):
        raise ResultFormatError(f"URI {uri!r} is not a blob URI",
                                hint="idlegrid URIs look like blob:<64 lowercase hex digits>")
    return check_sha256(uri[len(URI_SCHEME):])


def check_sha256(value: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise ResultFormatError(f"{value!r} is not a sha256 (64 lowercase hex digits)")
    return value


@dataclass(frozen=True)
class LeafBlob:
    index: int        # leaf index in the Merkle tree (0 = the initial checkpoint)
    step: int         # training step the checkpoint was taken after
    leaf_hash: str    # hex, 64 digits: what the tree commits to
    blob: str         # hex sha256 of the safetensors file: where to download it
    size: int         # bytes


@dataclass(frozen=True)
class ResultManifest:
    task_id: int
    spec_sha256: str
    merkle_root: str              # 0x-prefixed hex, as committed on chain
    steps: int
    checkpoint_every: int
    leaves: tuple[LeafBlob, ...]
    final_loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    # The device type the worker says it trained on ("cpu", "cuda"; "mixed" when a resumed job
    # changed device) and its arithmetic (engine.training.determinism.arithmetic; "mixed" after
    # a resume with other arithmetic; "" from a worker that predates the field). For people to
    # read only: how a result is judged comes from the spec (engine.tasks.judgement), never
    # from what a worker declares here (issue 14).
    device: str = "cpu"
    arithmetic: str = ""

    def to_bytes(self) -> bytes:
        body = {"format": RESULT_FORMAT, **asdict(self)}
        body["leaves"] = [asdict(leaf) for leaf in self.leaves]
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResultManifest:
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise ResultFormatError(f"result manifest is not JSON: {e}") from None
        if not isinstance(body, dict) or body.pop("format", None) != RESULT_FORMAT:
            raise ResultFormatError(f"result manifest is not {RESULT_FORMAT}")
        try:
            leaves = tuple(LeafBlob(**leaf) for leaf in body.pop("leaves"))
            manifest = cls(leaves=leaves, **body)
        except (TypeError, KeyError) as e:
            raise ResultFormatError(f"result manifest has missing or unexpected fields: {e}") from None
        for i, leaf in enumerate(manifest.leaves):
            if leaf.index != i:
                raise ResultFormatError(f"result manifest leaves[{i}] has index {leaf.index}")
            check_sha256(leaf.blob)
            check_sha256(leaf.leaf_hash)
        check_sha256(manifest.spec_sha256)
        return manifest

    def leaf(self, index: int) -> LeafBlob:
        if not 0 <= index < len(self.leaves):
            raise ResultFormatError(f"result manifest has no leaf {index} (it has {len(self.leaves)})")
        return self.leaves[index]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.to_bytes())
        return data
