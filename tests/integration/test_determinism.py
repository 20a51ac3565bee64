"""The property everything rests on: training is a pure function of the spec, and any
segment replays from its start checkpoint alone to the same hash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.errors import CheckpointError
from engine.tasks.load import load_spec
from engine.training import checkpoint as ckpt
from engine.training.determinism import arithmetic
from engine.training.jobdir import JobDir
from engine.training.replay import replay_job_segment
from engine.training.trainer import Trainer
from tests.conftest import REPO, TASKS
from tests.specs import example, quick_mlp, write


@pytest.fixture(scope="module")
def mlp_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    d = tmp_path_factory.mktemp("mlp")
    spec = write(d / "spec.json", quick_mlp())
    result = Trainer(load_spec(spec), d / "job").run()
    return spec, d / "job", result


def test_two_runs_give_the_same_root_and_leaves(mlp_job, tmp_path: Path) -> None:
    spec, _, first = mlp_job
    second = Trainer(load_spec(spec), tmp_path / "again").run()
    assert second.merkle_root == first.merkle_root
    assert second.leaves == first.leaves and len(first.leaves) == 7


def test_a_different_seed_gives_a_different_root(mlp_job, tmp_path: Path) -> None:
    _, _, first = mlp_job
    other = Trainer(load_spec(write(tmp_path / "s.json", quick_mlp(seed=8))), tmp_path / "j").run()
    assert other.merkle_root != first.merkle_root
    assert other.leaves[0] != first.leaves[0]


def test_every_segment_replays_to_its_committed_hash(mlp_job) -> None:
    spec, job, result = mlp_job
    checked = load_spec(spec)
    for i in range(len(result.leaves) - 1):
        r = replay_job_segment(checked, job, i)
        assert r.match and r.got == result.leaves[i + 1]


@pytest.mark.parametrize("name", ["digits-cnn", "tiny-charlm"])
def test_conv_and_transformer_with_dropout_replay_to_the_same_hash(name: str, tmp_path: Path) -> None:
    spec = example(name)
    spec.update(steps=40, checkpoint_every=20, schedule={"kind": "cosine", "warmup_steps": 5})
    path = write(tmp_path / "s.json", spec)
    result = Trainer(load_spec(path), tmp_path / "job").run()
    r = replay_job_segment(load_spec(path), tmp_path / "job", 1)
    assert r.match and r.got == result.leaves[2]


def test_digits_mlp_example_reaches_95_percent(tmp_path: Path) -> None:
    result = Trainer(load_spec(TASKS / "digits-mlp.json"), tmp_path / "job").run()
    assert result.metrics["accuracy"] >= 0.95
    assert result.steps == 600 and len(result.leaves) == 13


def test_finished_job_is_not_retrained(mlp_job) -> None:
    spec, job, result = mlp_job
    again = Trainer(load_spec(spec), job).run()
    assert again.merkle_root == result.merkle_root and again.resumed_from_step is None


def test_out_dir_of_another_task_is_refused(mlp_job, tmp_path: Path) -> None:
    _, job, _ = mlp_job
    other = load_spec(write(tmp_path / "s.json", quick_mlp(seed=99)))
    with pytest.raises(CheckpointError, match="another task"):
        Trainer(other, job).run()


# --- the CLI --------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO)


def test_train_cli_prints_json_last_and_progress_on_stderr(tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp())
    r = cli("train", str(spec), "--out", str(tmp_path / "job"))
    assert r.returncode == 0, r.stderr
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(last) >= {"merkle_root", "leaves", "steps", "final_loss", "metrics"}
    assert last["leaves"] == 7 and last["steps"] == 120 and last["merkle_root"].startswith("0x")
    assert last["arithmetic"] == arithmetic("cpu")
    assert "samples/s" in r.stderr and "step 120/120" in r.stderr


def copy_job(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_replay_cli_exit_codes(mlp_job, tmp_path: Path) -> None:
    spec, job, _ = mlp_job
    ok = cli("replay", str(spec), "--from", str(job), "--segment", "2")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) | {"expected": 0, "got": 0} == {"segment": 2, "match": True, "expected": 0, "got": 0,
                                                                 "distance": 0.0, "tensor": "",
                                                                 "arithmetic": arithmetic("cpu")}

    # a worker that commits a checkpoint it did not compute: the file and leaf agree, the replay does not
    forged = copy_job(job, tmp_path / "forged")
    jd = JobDir(forged)
    m = jd.read_manifest()
    snap = ckpt.read(jd.checkpoint_path(3))
    tensors = {k: (v + 0.01 if v.is_floating_point() else v) for k, v in snap.tensors.items()}
    fake = ckpt.Snapshot(snap.step, tensors, ckpt.hash_tensors(tensors))
    ckpt.write(fake, jd.checkpoint_path(3))
    m.leaves[3] = fake.leaf.hex()
    jd.write_manifest(m)
    bad = cli("replay", str(spec), "--from", str(forged), "--segment", "2")
    assert bad.returncode == 1
    out = json.loads(bad.stdout)
    assert out["match"] is False and out["expected"] == fake.leaf.hex() and out["got"] != out["expected"]


def test_replay_cli_takes_the_arithmetic_from_the_spec_never_from_the_caller(mlp_job, tmp_path: Path) -> None:
    """Exit 3 (no verdict) only when the spec names other arithmetic than this machine's; an
    --arithmetic a worker's manifest declared changes nothing (it once turned every replay into
    "no verdict")."""
    spec, job, _ = mlp_job
    bogus = cli("replay", str(spec), "--from", str(job), "--segment", "2", "--arithmetic", "mixed")
    assert bogus.returncode == 0, bogus.stderr  # tolerance spec: any machine judges

    intel = "cpu/GenuineIntel-6-143/AVX512/torch-2.13"
    other = write(tmp_path / "other.json", quick_mlp(verification={"mode": "exact", "arithmetic": intel}))
    Trainer(load_spec(other), tmp_path / "job-other").run()
    r = cli("replay", str(other), "--from", str(tmp_path / "job-other"), "--segment", "2",
            "--arithmetic", arithmetic("cpu"))
    assert r.returncode == 3, r.stderr
    assert f"the spec requires arithmetic {intel}" in r.stderr and "Traceback" not in r.stderr

    mine = write(tmp_path / "mine.json", quick_mlp(verification={"mode": "exact", "arithmetic": arithmetic("cpu")}))
    Trainer(load_spec(mine), tmp_path / "job-mine").run()
    same = cli("replay", str(mine), "--from", str(tmp_path / "job-mine"), "--segment", "2")
    assert same.returncode == 0, same.stderr
    out = json.loads(same.stdout)
    assert out["arithmetic"] == arithmetic("cpu") and "distance" not in out


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: (d / "ckpt-00002.safetensors").unlink(), "does not exist"),
        (lambda d: (d / "ckpt-00002.safetensors").write_bytes(b"garbage"), "not a readable safetensors"),
        (lambda d: (d / "ckpt-00002.safetensors").write_bytes((d / "ckpt-00001.safetensors").read_bytes()),
         "not leaf 2 of the job's tree"),
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json"),
    ],
)
def test_replay_cli_bad_input_exits_2(mlp_job, tmp_path: Path, damage, words: str) -> None:
    spec, job, _ = mlp_job
    broken = copy_job(job, tmp_path / "broken")
    damage(broken)
    r = cli("replay", str(spec), "--from", str(broken), "--segment", "2")
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_replay_cli_segment_out_of_range_exits_2(mlp_job) -> None:
    spec, job, _ = mlp_job
    r = cli("replay", str(spec), "--from", str(job), "--segment", "6")
    assert r.returncode == 2 and "segments 0..5" in r.stderr


def test_tolerance_accepts_tiny_differences_and_rejects_large(mlp_job, tmp_path: Path) -> None:
    from engine.tasks.judgement import judgement_for
    from engine.training.replay import judge

    spec, job, _ = mlp_job
    tolerant = judgement_for(load_spec(spec).spec)
    snap = ckpt.read(JobDir(job).checkpoint_path(2))

    def scaled(f: float) -> ckpt.Snapshot:
        t = {k: (v * f if v.is_floating_point() else v) for k, v in snap.tensors.items()}
        return ckpt.Snapshot(snap.step, t, ckpt.hash_tensors(t))

    assert judge(tolerant, 1, scaled(1 + 1e-7), snap.leaf.hex(), snap).match
    assert not judge(tolerant, 1, scaled(1.01), snap.leaf.hex(), snap).match
    exact = judgement_for(load_spec(write(tmp_path / "exact.json", quick_mlp(
        verification={"mode": "exact", "arithmetic": arithmetic("cpu")}))).spec)
    assert not judge(exact, 1, scaled(1 + 1e-7), snap.leaf.hex(), snap).match
    assert torch.equal(scaled(1.0).tensors["model.0.weight"], snap.tensors["model.0.weight"])
