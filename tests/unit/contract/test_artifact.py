"""The committed ABI + bytecode artifacts match a fresh compile of contracts/*.vy (v1 and v2)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tools import compile_contracts


@pytest.mark.parametrize("name", compile_contracts.CONTRACTS)
def test_artifact_is_current(name):
    assert compile_contracts.staleness(name) is None, "run: make contracts"


def test_both_markets_are_compiled():
    assert compile_contracts.CONTRACTS == ("TaskMarket", "TaskMarketV2")


def test_artifact_records_compiler_and_source_hash():
    artifact = json.loads(compile_contracts.artifact_path("TaskMarket").read_text())
    source = compile_contracts.source_path("TaskMarket").read_bytes()
    assert artifact["compiler"] == "vyper 0.4.3"
    assert artifact["source_sha256"] == hashlib.sha256(source).hexdigest()
    assert artifact["bytecode"].startswith("0x")
    assert {e["name"] for e in artifact["abi"] if e["type"] == "function"} >= {
        "postTask", "claimTask", "submitResult", "challenge", "drawJury", "resolve", "finalize", "withdraw",
    }


def _copy_into(tmp_path, monkeypatch, source: bytes, artifact: dict) -> None:
    (tmp_path / "TaskMarket.vy").write_bytes(source)
    (tmp_path / "TaskMarket.json").write_text(json.dumps(artifact))
    monkeypatch.setattr(compile_contracts, "SOURCE_DIR", tmp_path)
    monkeypatch.setattr(compile_contracts, "ARTIFACT_DIR", tmp_path)


def test_check_exits_1_when_the_source_changed(tmp_path, monkeypatch):
    artifact = json.loads(compile_contracts.artifact_path("TaskMarket").read_text())
    source = compile_contracts.source_path("TaskMarket").read_bytes() + b"\n# changed\n"
    _copy_into(tmp_path, monkeypatch, source, artifact)
    assert compile_contracts.main(["--check"]) == 1


def test_check_exits_1_when_the_bytecode_differs(tmp_path, monkeypatch, capsys):
    artifact = json.loads(compile_contracts.artifact_path("TaskMarket").read_text())
    artifact["bytecode"] = artifact["bytecode"][:-2] + "00"
    _copy_into(tmp_path, monkeypatch, compile_contracts.source_path("TaskMarket").read_bytes(), artifact)
    assert compile_contracts.main(["--check"]) == 1
    assert "bytecode differs" in capsys.readouterr().err
