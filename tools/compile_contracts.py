"""Compile the Vyper contracts into resources/contracts/<Name>.json (ABI + deploy bytecode).

    python tools/compile_contracts.py          # (re)write the artifacts
    python tools/compile_contracts.py --check  # exit 1 if an artifact is missing or stale

An artifact holds: abi, bytecode (0x-hex deploy code), compiler ("vyper 0.4.3") and
source_sha256 (sha256 hex of the source file's bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import vyper
from vyper.compiler import compile_code

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = ("TaskMarket", "TaskMarketV2")
SOURCE_DIR = REPO / "contracts"
ARTIFACT_DIR = REPO / "resources" / "contracts"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def source_path(name: str) -> Path:
    return SOURCE_DIR / f"{name}.vy"


def artifact_path(name: str) -> Path:
    return ARTIFACT_DIR / f"{name}.json"


def build(name: str) -> dict:
    """A fresh artifact for contracts/<name>.vy."""
    path = source_path(name)
    raw = path.read_bytes()
    out = compile_code(raw.decode(), contract_path=path.name, output_formats=["abi", "bytecode"])
    return {
        "contract": name,
        "compiler": f"vyper {vyper.__version__}",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }


def staleness(name: str) -> str | None:
    """Why the stored artifact of `name` is out of date, or None when it is current."""
    path = artifact_path(name)
    if not path.exists():
        return f"{_shown(path)} is missing"
    stored = json.loads(path.read_text())
    source_sha256 = hashlib.sha256(source_path(name).read_bytes()).hexdigest()
    if stored.get("source_sha256") != source_sha256:
        return f"{_shown(path)}: source_sha256 differs from {source_path(name).name}"
    fresh = build(name)
    for key in ("source_sha256", "compiler", "bytecode", "abi"):
        if stored.get(key) != fresh[key]:
            return f"{_shown(path)}: {key} differs from a fresh compile of {source_path(name).name}"
    return None


def write(name: str) -> Path:
    path = artifact_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build(name), indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if an artifact is missing or stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = [p for p in map(staleness, CONTRACTS) if p]
        for problem in problems:
            print(f"stale: {problem} (run: python tools/compile_contracts.py)", file=sys.stderr)
        if not problems:
            print(f"up to date: {', '.join(CONTRACTS)}")
        return 1 if problems else 0
    for name in CONTRACTS:
        path = write(name)
        print(f"wrote {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
