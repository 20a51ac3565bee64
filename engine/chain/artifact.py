"""The compiled TaskMarket contract shipped in ``resources/contracts/TaskMarket.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.chain.errors import ArtifactError
from engine.config import resources_dir


def artifact_path() -> Path:
    return resources_dir() / "contracts" / "TaskMarket.json"


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str
    source_sha256: str


def load_artifact(path: Path | None = None) -> Artifact:
    """The artifact at ``path`` (default: the shipped one); missing or malformed -> :class:`ArtifactError`."""
    path = path or artifact_path()
    hint = "compile contracts/TaskMarket.vy into resources/contracts/ (see the README)"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"the contract artifact {path} is missing", hint=hint) from None
    except (OSError, ValueError) as e:
        raise ArtifactError(f"the contract artifact {path} is unreadable: {e}", hint=hint) from None
    try:
        bytecode = raw["bytecode"]
        artifact = Artifact(raw["abi"], bytecode if bytecode.startswith("0x") else "0x" + bytecode,
                            raw.get("compiler", "?"), raw.get("source_sha256", "?"))
    except (KeyError, TypeError, AttributeError) as e:
        raise ArtifactError(f"the contract artifact {path} lacks {e}", hint=hint) from None
    if not isinstance(artifact.abi, list) or len(artifact.bytecode) < 4:
        raise ArtifactError(f"the contract artifact {path} has no ABI or bytecode", hint=hint)
    return artifact
