"""Smoke test of the benchmarks: each runs with --quick and prints `name: value` lines.

No timing assertions: the figures depend on the machine; only the output format is checked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^([a-z][a-z0-9_]*): (\S.*)$")

HEADLINES = {
    "overhead": "overhead_ratio",
    "hashing": "hash_ratio",
    "blobs": "blob_ratio",
    "app": "daemon_idle_cpu_pct",
    "verify": "verify_margin",
    "rpc": "rpc_cpu_ratio",
}
# Benchmarks cheap enough to run in full (they take no --quick): TaskMarketV2 in titanoboa.
FULL_RUNS = {
    "economics": "replay_fraction",
    "gas_v2": "gas_v2_ratio",
}
# Headlines that may be exactly 0 in a short run (an idle service uses no measurable CPU in 3 s).
MAY_BE_ZERO = {"daemon_idle_cpu_pct"}


@pytest.mark.parametrize("bench, headline, args", [(b, h, ["--quick"]) for b, h in sorted(HEADLINES.items())]
                         + [(b, h, []) for b, h in sorted(FULL_RUNS.items())]
                         + [("gas", "gas_v2_anvil_ratio", ["--market", "v2"])])  # v2 on anvil: seconds
def test_benchmark_quick_run_prints_figures(bench: str, headline: str, args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", f"bench.{bench}", *args], check=False, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines, "the benchmark printed nothing"
    for line in lines:
        assert LINE.match(line), f"not a `name: value` line: {line!r}"
    name, value = LINE.match(lines[-1]).groups()
    assert name == headline
    assert float(value) >= 0 if name in MAY_BE_ZERO else float(value) > 0
