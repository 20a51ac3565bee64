"""TaskMarketV2's committed artifact: current, with the v2 entry points, deployable under EIP-170.

Staleness of every artifact (v1 and v2) and the `--check` failure modes are tested in
tests/unit/contract/test_artifact.py.
"""

from __future__ import annotations

import hashlib
import json

import boa

from tools import compile_contracts


def test_artifact_records_compiler_source_hash_and_v2_calls():
    artifact = json.loads(compile_contracts.artifact_path("TaskMarketV2").read_text())
    source = compile_contracts.source_path("TaskMarketV2").read_bytes()
    assert artifact["contract"] == "TaskMarketV2"
    assert artifact["compiler"] == "vyper 0.4.3"
    assert artifact["source_sha256"] == hashlib.sha256(source).hexdigest()
    assert artifact["bytecode"].startswith("0x")
    assert {e["name"] for e in artifact["abi"] if e["type"] == "function"} >= {
        "postTask", "claimTask", "submitResult", "commitChallenge", "revealChallenge", "drawJury", "resolve",
        "demandData", "answerData", "assignAuditors", "commitAudit", "revealAudit", "finalize", "withdraw",
    }
    assert len(artifact["bytecode"]) // 2 - 1 <= 49_152  # EIP-3860's limit on init code


def test_deployed_code_fits_eip170(market):
    """EIP-170 bounds the deployed (runtime) code, not the init code the artifact holds."""
    assert len(boa.env.get_code(market.address)) <= 24_576
