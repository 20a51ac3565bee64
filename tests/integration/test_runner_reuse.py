"""A runner serving job after job (``--max-jobs``): every job trains to a fresh runner's root,
and a runner that failed, was killed or has served its jobs is never handed another."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RunnerError
from tests.specs import example, kill_mid_job, quick_mlp, write

LONG = {"steps": 3000, "checkpoint_every": 250}  # a few seconds: long enough to kill mid-job


def quick_cnn(**overrides: object) -> dict:
    spec = example("digits-cnn")
    spec.update(steps=120, checkpoint_every=20, threads=2)
    spec.update(overrides)
    return spec


def fresh_root(runner, spec: Path, out: Path) -> str:  # type: ignore[no-untyped-def]
    """The root a single-use runner (a new process) trains ``spec`` to."""
    r = runner()
    r.start(spec, out, device="cpu")
    root = r.wait_for("done", timeout=120)["merkle_root"]
    assert r.proc.wait(timeout=30) == 0 and not r.wait_free(timeout=1)  # it never says free
    return root


def test_every_job_of_a_reused_runner_has_the_root_of_a_fresh_runner(runner, tmp_path: Path) -> None:
    """digits-mlp (dropout, one thread), then digits-cnn (two threads), then digits-mlp again:
    what one job sets (threads, seeds, dropout draws, caches) reaches no other."""
    mlp = write(tmp_path / "mlp.json", quick_mlp(threads=1))
    cnn = write(tmp_path / "cnn.json", quick_cnn())
    want = {mlp: fresh_root(runner, mlp, tmp_path / "fresh-mlp"), cnn: fresh_root(runner, cnn, tmp_path / "fresh-cnn")}
    assert want[mlp] != want[cnn]

    reused = runner(max_jobs=3)
    for n, spec in enumerate((mlp, cnn, mlp), start=1):
        reused.start(spec, tmp_path / f"job-{n}", device="cpu")
        done = reused.wait_for("done", timeout=120)
        assert done["merkle_root"] == want[spec], f"job {n} ({spec.stem}) of a reused runner"
        assert reused.wait_free(timeout=60) is (n < 3)  # free after jobs 1 and 2; the 3rd was its last
    assert reused.proc.wait(timeout=30) == 0


def test_a_start_refused_before_training_leaves_the_runner_free_and_the_next_job_exact(
        runner, tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", quick_mlp())
    want = fresh_root(runner, good, tmp_path / "fresh")
    r = runner(max_jobs=5)
    r.start(write(tmp_path / "bad.json", quick_mlp(steps=0)), tmp_path / "bad-job", device="cpu")
    with pytest.raises(RunnerError, match="steps"):
        r.wait_for("done", timeout=60)
    assert r.wait_free(timeout=30)  # nothing ran: the process is as it was at ready
    r.send("start", spec=7, out=str(tmp_path / "x"))  # a hostile start: one error naming the field
    with pytest.raises(RunnerError, match="start cmd's spec is int"):
        r.wait_for("done", timeout=30)
    r.start(good, tmp_path / "job", device="cpu")
    assert r.wait_for("done", timeout=120)["merkle_root"] == want


def test_a_job_that_fails_once_training_started_ends_the_runner(runner, tmp_path: Path) -> None:
    """Another task's checkpoints in the folder: the job fails after ``started``, so the runner
    exits with the error's code instead of saying free (its state is not vouched for)."""
    first, other = write(tmp_path / "a.json", quick_mlp()), write(tmp_path / "b.json", quick_mlp(seed=99))
    r = runner(max_jobs=5)
    r.start(first, tmp_path / "job", device="cpu")
    r.wait_for("done", timeout=120)
    assert r.wait_free(timeout=60)
    r.start(other, tmp_path / "job", device="cpu")
    with pytest.raises(RunnerError, match="checkpoints of another task"):
        r.wait_for("done", timeout=120)
    assert not r.wait_free(timeout=30)
    assert r.proc.wait(timeout=30) == 2


def test_stop_while_free_exits_at_once(runner, tmp_path: Path) -> None:
    r = runner(max_jobs=5)
    r.start(write(tmp_path / "s.json", quick_mlp()), tmp_path / "job", device="cpu")
    r.wait_for("done", timeout=120)
    assert r.wait_free(timeout=60)
    assert r.stop(timeout=30) == 0


def test_kill_9_of_a_reused_runner_mid_job_then_another_reused_runner_ends_with_the_fresh_root(
        runner, tmp_path: Path) -> None:
    warmup = write(tmp_path / "cnn.json", quick_cnn())
    spec = write(tmp_path / "long.json", quick_mlp(**LONG))
    want = fresh_root(runner, spec, tmp_path / "fresh")
    first, second = runner(max_jobs=5), runner(max_jobs=5)
    for r, n in ((first, 1), (second, 2)):  # each has served a job before the one that counts
        r.start(warmup, tmp_path / f"warmup-{n}", device="cpu")
        r.wait_for("done", timeout=120)
        assert r.wait_free(timeout=60)
    kill_mid_job(first, spec, tmp_path / "job")
    second.start(spec, tmp_path / "job", device="cpu")
    done = second.wait_for("done", timeout=120)
    assert done["resumed_from"] is not None and done["resumed_from"] >= 500
    assert done["merkle_root"] == want
