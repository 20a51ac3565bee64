"""`idlegrid replay` judges a job trained under other arithmetic: honest segments pass,
cheats fail, checkpoint 0 must be the spec's initialisation, and divergence is a result.

The worker trains under this CPU's best kernel level; the verifier replays under
``ATEN_CPU_CAPABILITY=default`` (their roots differ: asserted below), in real subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.cheats import Cheat, cheat_segment, forge_job, nan_weights, planted_start
from engine.tasks.load import load_spec
from engine.training.jobdir import JobDir
from tests.conftest import REPO
from tests.specs import quick_mlp, write

BEST = torch.backends.cpu.get_cpu_capability().lower()
VERIFIER = "default"

pytestmark = pytest.mark.skipif(BEST == VERIFIER, reason="this CPU offers only torch's default kernels")


def idlegrid(level: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ATEN_CPU_CAPABILITY=level)
    return subprocess.run([sys.executable, "-m", "engine", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)


def replay(spec: Path, job: Path, segment: int) -> tuple[int, dict[str, object]]:
    r = idlegrid(VERIFIER, "replay", str(spec), "--from", str(job), "--segment", str(segment))
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cross")
    spec = write(d / "spec.json", quick_mlp())
    out = idlegrid(BEST, "train", str(spec), "--out", str(d / "job"), "-q", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    again = idlegrid(VERIFIER, "train", str(spec), "--out", str(d / "other"), "-q", "--device", "cpu")
    assert json.loads(again.stdout)["merkle_root"] != json.loads(out.stdout)["merkle_root"]  # the arithmetics differ
    return spec, d / "job"


def test_every_honest_segment_passes_under_other_arithmetic(job: tuple[Path, Path]) -> None:
    spec, folder = job
    for segment in range(load_spec(spec).spec.num_checkpoints - 1):
        code, out = replay(spec, folder, segment)
        assert code == 0, out
        assert out["got"] != out["expected"]  # not the same hash: judged by tolerance


@pytest.mark.parametrize("cheat", [Cheat.SKIP_STEP, Cheat.BF16, Cheat.LR_OFF])
def test_a_cheated_segment_fails(job: tuple[Path, Path], cheat: Cheat, tmp_path: Path) -> None:
    spec, folder = job
    checked = load_spec(spec)
    jd = JobDir(folder)
    start = jd.leaf_snapshot(jd.read_manifest(), 2)
    fake = cheat_segment(checked, start, checked.spec.checkpoint_step(3), cheat)
    code, out = replay(spec, forge_job(folder, tmp_path / "forged", {3: fake}), 2)
    assert code == 1 and out["match"] is False and out["expected"] == fake.leaf.hex()


def test_nan_weights_fail_where_the_replay_has_none(job: tuple[Path, Path], tmp_path: Path) -> None:
    spec, folder = job
    jd = JobDir(folder)
    claimed = jd.leaf_snapshot(jd.read_manifest(), 4)
    code, out = replay(spec, forge_job(folder, tmp_path / "nan", {4: nan_weights(claimed)}), 3)
    assert code == 1 and out["distance"] == "inf"


def test_a_planted_checkpoint_zero_fails_segment_zero(job: tuple[Path, Path], tmp_path: Path) -> None:
    """Checkpoint 0 from another seed, then honest training from it: every later segment
    would replay, so segment 0 must compare checkpoint 0 with the spec's initialisation."""
    spec, folder = job
    checked = load_spec(spec)
    planted = planted_start(checked, seed=12345)
    first = cheat_segment(checked, planted, checked.spec.checkpoint_step(1), Cheat.SKIP_STEP)
    honest_from_planted = forge_job(folder, tmp_path / "planted", {0: planted, 1: first})
    code, out = replay(spec, honest_from_planted, 0)
    assert code == 1 and "seeded initialisation" in str(out["reason"])


def test_a_diverging_spec_trains_to_the_end_and_replays(tmp_path: Path) -> None:
    """A loss that becomes NaN is the spec's result: training completes and commits every
    leaf, and a replay under other arithmetic finds the same NaNs in the same places."""
    spec = write(tmp_path / "nan.json", quick_mlp(optimizer={"kind": "sgd", "lr": 1e6, "momentum": 0.9}))
    out = idlegrid(BEST, "train", str(spec), "--out", str(tmp_path / "job"), "-q", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["leaves"] == 7 and result["steps"] == 120 and result["final_loss"] is None
    last = JobDir(tmp_path / "job").leaf_snapshot(JobDir(tmp_path / "job").read_manifest(), 6)
    assert any(bool(torch.isnan(t).any()) for t in last.tensors.values() if t.is_floating_point())
    for segment in (2, 5):
        code, judged = replay(spec, tmp_path / "job", segment)
        assert code == 0, judged
