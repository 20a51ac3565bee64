"""The real runner subprocess: protocol, pause/resume, stop, and kill -9 recovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import RunnerError
from engine.tasks.load import load_spec
from engine.training.jobdir import JobDir
from engine.training.trainer import Trainer
from tests.specs import kill_mid_job, quick_mlp, write

LONG = {"steps": 3000, "checkpoint_every": 250}  # a few seconds: long enough to interrupt


def uninterrupted_root(spec: Path, tmp_path: Path) -> str:
    return Trainer(load_spec(spec), tmp_path / "reference").run().merkle_root


def test_runner_trains_to_done_and_reports_checkpoints(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp())
    r = runner()
    assert r.ready["pid"] == r.pid
    r.start(spec, tmp_path / "job", device="cpu", progress_every_s=0.05)
    events = list(r.iter_events(timeout=120))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "done"
    assert [e["index"] for e in events if e["event"] == "checkpoint"] == list(range(7))
    done = events[-1]
    assert done["merkle_root"] == uninterrupted_root(spec, tmp_path)
    assert r.proc.wait(timeout=10) == 0


def test_pause_holds_at_a_step_boundary_and_resume_finishes_with_the_same_root(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp(**LONG))
    r = runner()
    r.start(spec, tmp_path / "job", device="cpu")
    r.wait_for("checkpoint", timeout=60)
    r.pause()
    paused = r.wait_for("paused", timeout=10)
    with pytest.raises(TimeoutError):
        r.wait_for("progress", "checkpoint", timeout=1.0)  # nothing moves while paused
    r.resume()
    assert r.wait_for("resumed", timeout=10)["step"] == paused["step"]
    done = r.wait_for("done", timeout=120)
    assert done["merkle_root"] == uninterrupted_root(spec, tmp_path)


def test_stop_saves_mid_segment_and_a_new_runner_resumes_there(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp(**LONG))
    first = runner()
    first.start(spec, tmp_path / "job", device="cpu")
    while first.wait_for("checkpoint", timeout=60)["index"] < 1:  # leaf 0 is the initial weights
        pass
    first.pause()
    held = first.wait_for("paused", timeout=10)["step"]
    assert held >= 250  # at or (nearly always) past leaf 1: the trainer runs ahead of its writer
    assert first.stop() == 0
    manifest = JobDir(tmp_path / "job").read_manifest()
    assert manifest.result is None and len(manifest.leaves) >= 2
    if held % 250:
        assert manifest.resume["step"] == held  # the work since the last leaf was kept
    second = runner()
    second.start(spec, tmp_path / "job", device="cpu")
    done = second.wait_for("done", timeout=120)
    assert done["resumed_from"] == held
    assert done["merkle_root"] == uninterrupted_root(spec, tmp_path)


def test_kill_9_mid_job_then_a_new_runner_ends_with_the_uninterrupted_root(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp(**LONG))
    kill_mid_job(runner(), spec, tmp_path / "job")
    second = runner()
    second.start(spec, tmp_path / "job", device="cpu")
    done = second.wait_for("done", timeout=120)
    assert done["resumed_from"] is not None and done["resumed_from"] >= 500
    assert done["merkle_root"] == uninterrupted_root(spec, tmp_path)


def test_a_torn_last_checkpoint_falls_back_to_the_one_before(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp())
    Trainer(load_spec(spec), tmp_path / "job").run()
    jd = JobDir(tmp_path / "job")
    m = jd.read_manifest()
    m.result = None
    jd.write_manifest(m)
    jd.checkpoint_path(6).write_bytes(b"half a file")
    r = runner()
    r.start(spec, tmp_path / "job", device="cpu")
    done = r.wait_for("done", timeout=60)
    assert done["resumed_from"] == 100
    assert done["merkle_root"] == uninterrupted_root(spec, tmp_path)


def test_bad_spec_is_an_error_event_naming_the_field(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp(steps=0))
    r = runner()
    r.start(spec, tmp_path / "job")
    with pytest.raises(RunnerError, match="steps"):
        r.wait_for("done", timeout=60)
    assert r.proc.wait(timeout=10) == 2


def test_garbage_on_the_control_pipe_is_reported_not_fatal(runner, tmp_path: Path) -> None:
    r = runner()
    r.proc.stdin.write("this is not json\n")
    r.proc.stdin.write(json.dumps({"cmd": "dance"}) + "\n")
    r.proc.stdin.flush()
    first, second = r.next_event(timeout=30), r.next_event(timeout=30)
    assert first["event"] == second["event"] == "error"
    assert "not JSON" in first["message"] and "dance" in second["message"]
    r.start(write(tmp_path / "s.json", quick_mlp()), tmp_path / "job", device="cpu")
    assert r.wait_for("done", timeout=60)["leaves"] == 7


def test_closing_stdin_makes_the_runner_save_and_exit(runner, tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", quick_mlp(**LONG))
    r = runner()
    r.start(spec, tmp_path / "job", device="cpu")
    r.wait_for("checkpoint", timeout=60)
    r.proc.stdin.close()
    assert r.wait_for("stopped", timeout=30)["step"] > 0
    assert r.proc.wait(timeout=10) == 0
