"""Each cheating strategy fools everything but re-execution: the faked tree is self-consistent,
and the real replay (engine.training.replay) flags exactly the faked segment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.commit.merkle import MerkleTree
from engine.errors import CheckpointError
from engine.tasks.load import CheckedSpec, check, parse
from engine.training import checkpoint as ckpt
from engine.training.jobdir import JobDir
from engine.training.replay import replay_job_segment
from engine.training.trainer import Trainer
from tests.e2e import cheats
from tests.e2e.cheats import STRATEGIES, UnknownStrategy, tamper
from tests.specs import quick_mlp

SEGMENT = 2
#: the strategies that fake checkpoint SEGMENT + 1 and retrain the rest honestly from it
RETRAINED = sorted(set(STRATEGIES) - cheats.AT_ZERO - cheats.NO_RETRAIN)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[CheckedSpec, Path, str]:
    checked = check(parse(quick_mlp()))
    out = tmp_path_factory.mktemp("honest") / "job"
    return checked, out, Trainer(checked, out).run().merkle_root


def copy_of(honest_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(honest_dir, tmp_path / "job"))


@pytest.mark.parametrize("strategy", RETRAINED)
def test_replay_flags_exactly_the_faked_segment(strategy: str, honest, tmp_path: Path) -> None:
    checked, honest_dir, honest_root = honest
    job_dir = copy_of(honest_dir, tmp_path)

    faked = tamper(strategy, checked, job_dir, SEGMENT)

    assert faked.merkle_root != honest_root
    verdicts = {i: replay_job_segment(checked, job_dir, i).match for i in range(checked.spec.num_checkpoints - 1)}
    assert verdicts == {i: i != SEGMENT for i in verdicts}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_faked_tree_is_self_consistent(strategy: str, honest, tmp_path: Path) -> None:
    checked, honest_dir, _ = honest
    job = JobDir(copy_of(honest_dir, tmp_path))

    faked = tamper(strategy, checked, job.root, SEGMENT)

    m = job.read_manifest()
    assert len(m.leaves) == checked.spec.num_checkpoints and m.result is not None
    assert faked.merkle_root == "0x" + MerkleTree([bytes.fromhex(x) for x in m.leaves]).root.hex()
    for i, leaf in enumerate(m.leaves):  # every file hashes to its leaf and claims its step
        snap = job.leaf_snapshot(m, i)
        assert snap.step == checked.spec.checkpoint_step(i), (i, leaf)


def test_planted_zero_fails_only_segment_zero(honest, tmp_path: Path) -> None:
    checked, honest_dir, honest_root = honest
    job_dir = copy_of(honest_dir, tmp_path)
    faked = tamper("planted_zero", checked, job_dir, SEGMENT)
    assert faked.merkle_root != honest_root
    verdicts = {i: replay_job_segment(checked, job_dir, i).match for i in range(checked.spec.num_checkpoints - 1)}
    assert verdicts == {i: i != 0 for i in verdicts}


def test_crash_optimizer_mismatches_before_and_crashes_after(honest, tmp_path: Path) -> None:
    checked, honest_dir, _ = honest
    job_dir = copy_of(honest_dir, tmp_path)
    tamper("crash_optimizer", checked, job_dir, SEGMENT)
    assert not replay_job_segment(checked, job_dir, SEGMENT).match
    with pytest.raises(Exception):  # noqa: B017 -- torch's own error type; the verifier's control replay sorts it
        replay_job_segment(checked, job_dir, SEGMENT + 1)
    assert replay_job_segment(checked, job_dir, SEGMENT + 2).match  # the honest checkpoints after it


def test_segments_before_the_fake_keep_their_honest_leaves(honest, tmp_path: Path) -> None:
    checked, honest_dir, _ = honest
    before = JobDir(honest_dir).read_manifest().leaves
    job = JobDir(copy_of(honest_dir, tmp_path))

    tamper("stale", checked, job.root, SEGMENT)

    after = job.read_manifest().leaves
    assert after[: SEGMENT + 1] == before[: SEGMENT + 1]
    assert all(a != b for a, b in zip(after[SEGMENT + 1 :], before[SEGMENT + 1 :]))


def test_stale_repeats_the_previous_weights(honest, tmp_path: Path) -> None:
    checked, honest_dir, _ = honest
    job = JobDir(copy_of(honest_dir, tmp_path))
    tamper("stale", checked, job.root, SEGMENT)
    m = job.read_manifest()
    prev, fake = job.leaf_snapshot(m, SEGMENT), job.leaf_snapshot(m, SEGMENT + 1)
    assert all(fake.tensors[k].equal(v) for k, v in prev.tensors.items() if k != ckpt.STEP_KEY)


def test_wrong_data_changes_only_the_data_seed() -> None:
    checked = check(parse(quick_mlp()))
    other = cheats.wrong_data_spec(checked)
    assert other.spec.seed == checked.spec.seed + 1
    assert other.spec.model_dump(exclude={"seed"}) == checked.spec.model_dump(exclude={"seed"})
    synthetic = check(parse(quick_mlp(dataset={"kind": "synthetic_classification", "samples": 200,
                                               "features": 64, "classes": 10, "seed": 3})))
    assert cheats.wrong_data_spec(synthetic).spec.dataset.seed == 4


def test_unknown_strategy_is_refused_with_the_known_ones(honest) -> None:
    checked, honest_dir, _ = honest
    with pytest.raises(UnknownStrategy) as e:
        tamper("lazy", checked, honest_dir, SEGMENT)
    assert "skipped_steps" in e.value.hint


def test_unfinished_job_is_refused(honest, tmp_path: Path) -> None:
    checked, _, _ = honest
    with pytest.raises(CheckpointError, match="does not hold a finished job"):
        tamper("stale", checked, tmp_path / "empty", SEGMENT)


def test_segment_out_of_range_is_refused(honest) -> None:
    checked, honest_dir, _ = honest
    last = checked.spec.num_checkpoints - 1
    with pytest.raises(CheckpointError, match=f"segment {last} does not exist"):
        tamper("stale", checked, honest_dir, last)
