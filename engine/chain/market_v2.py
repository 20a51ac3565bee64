"""TaskMarket v2 (contracts/TaskMarketV2.vy): its devnet parameters and the hashes its calls take.

Additive: the clients still talk to v1 through engine.chain.market. These are the pieces the v2
contract tests and benches share now; the full v2 bindings (calls, events, typed reads) come with
the client port (docs/contract.md, "Porting the clients").
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from engine.chain.artifact import Artifact, artifact_path, load_artifact
from engine.chain.errors import ArtifactError
from engine.chain.market import DEVNET_PARAMS, ETHER

# v1's devnet values, with the v2 ones that differ or are new.
DEVNET_PARAMS_V2: dict[str, int] = {
    **DEVNET_PARAMS,
    "jurySize": 5,
    "unbondingPeriod": 7200,
    "wrongVotePenalty": ETHER // 100,
    "maxDraws": 3,
    "epochLength": 3600,
    "responsePeriod": 600,
    "auditFeeBps": 1000,
    "auditorsPerTask": 1,
}


class DisputeStatus(IntEnum):
    """A v2 dispute's status (TaskMarketV2.vy: D_*)."""

    NONE = 0
    OPEN = 1
    WORKER_WON = 2
    CHALLENGER_WON = 3
    VOID = 4


def artifact_path_v2() -> Path:
    """resources/contracts/TaskMarketV2.json, next to v1's artifact."""
    return artifact_path().with_name("TaskMarketV2.json")


def load_artifact_v2() -> Artifact:
    """The shipped TaskMarketV2 artifact; missing or malformed -> ArtifactError."""
    return load_artifact(artifact_path_v2())


def challenge_commitment(task_id: int, segment: int, salt: bytes, challenger: str) -> bytes:
    """What ``commitChallenge`` takes: keccak256(abi_encode(taskId, segment, salt, challenger))."""
    return keccak(abi_encode(["uint256", "uint256", "bytes32", "address"], [task_id, segment, salt, challenger]))


def audit_commitment(task_id: int, leaf: bytes, salt: bytes, auditor: str) -> bytes:
    """What ``commitAudit`` takes: keccak256(abi_encode(taskId, leaf, salt, auditor))."""
    return keccak(abi_encode(["uint256", "bytes32", "bytes32", "address"], [task_id, leaf, salt, auditor]))


def audit_segment(task_id: int, salt: bytes, num_leaves: int) -> int:
    """The segment (leaf s -> s+1) an audit with ``salt`` replays: private until revealed."""
    return int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [salt, task_id])), "big") % (num_leaves - 1)


def constructor_args_v2(artifact: Artifact, overrides: dict[str, int]) -> dict[str, int]:
    """TaskMarketV2's constructor arguments by name, in its order, from DEVNET_PARAMS_V2 and ``overrides``."""
    ctor: dict[str, Any] = next((e for e in artifact.abi if e.get("type") == "constructor"), {"inputs": []})
    values = {**DEVNET_PARAMS_V2, **overrides}
    args = {}
    for arg in ctor["inputs"]:
        name = arg["name"].lstrip("_")
        if name not in values:
            raise ArtifactError(f"TaskMarketV2's constructor takes {name!r}, which the devnet does not set",
                                hint="add it to DEVNET_PARAMS_V2 in engine/chain/market_v2.py")
        args[name] = values[name]
    return args
