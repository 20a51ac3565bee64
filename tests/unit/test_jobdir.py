"""A job folder's manifest and leaf log: what a crash at any point leaves readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import CheckpointError
from engine.training.jobdir import JobDir, Manifest

LEAF = [f"{0xa0 + i:02x}" * 32 for i in range(6)]


def job_with_log(tmp_path: Path, in_manifest: int, log: str) -> JobDir:
    job = JobDir(tmp_path / "job")
    job.write_manifest(Manifest("ab" * 32, 300, 50, LEAF[:in_manifest]))
    job.log_path.write_text(log, encoding="ascii")
    return job


def test_logged_leaves_continue_the_manifest(tmp_path: Path) -> None:
    job = JobDir(tmp_path / "job")
    job.write_manifest(Manifest("ab" * 32, 300, 50, LEAF[:2]))
    log = job.open_log()
    for i in (2, 3):
        log.append(i, LEAF[i])
    log.close()
    assert job.read_manifest().leaves == LEAF[:4]


def test_writing_the_manifest_folds_the_log_in(tmp_path: Path) -> None:
    job = job_with_log(tmp_path, 2, f"2 {LEAF[2]}\n")
    m = job.read_manifest()
    job.write_manifest(m)
    assert not job.log_path.exists()
    assert job.read_manifest().leaves == LEAF[:3]


@pytest.mark.parametrize(
    ("log", "leaves", "why"),
    [
        (f"2 {LEAF[2]}\n3 {LEAF[3][:20]}", 3, "a torn last line (crash mid-append) is dropped"),
        (f"2 {LEAF[2]}\n3 {LEAF[3]}", 3, "a last line without its newline may be torn: dropped"),
        (f"0 {LEAF[0]}\n1 {LEAF[1]}\n2 {LEAF[2]}\n", 3, "lines the manifest already holds are skipped"),
        (f"3 {LEAF[3]}\n", 2, "a gap ends the list"),
        (f"2 {LEAF[2]}\ngarbage\n3 {LEAF[3]}\n", 3, "anything that is not a leaf line ends the list"),
        (f"2 {LEAF[2].upper()}\n", 2, "leaves are lower-case hex"),
        ("", 2, "an empty log adds nothing"),
    ],
)
def test_damaged_logs_lose_only_their_damaged_tail(tmp_path: Path, log: str, leaves: int, why: str) -> None:
    assert job_with_log(tmp_path, 2, log).read_manifest().leaves == LEAF[:leaves], why


def test_an_unreadable_log_costs_only_the_work_since_the_manifest(tmp_path: Path) -> None:
    job = job_with_log(tmp_path, 2, "")
    job.log_path.write_bytes(b"\xff\xfe2 \x00\n")
    assert job.read_manifest().leaves == LEAF[:2]


def test_a_log_without_a_manifest_is_no_job(tmp_path: Path) -> None:
    job = JobDir(tmp_path / "job")
    job.root.mkdir()
    job.log_path.write_text(f"0 {LEAF[0]}\n", encoding="ascii")
    assert job.read_manifest() is None


def test_a_manifest_of_another_format_is_refused(tmp_path: Path) -> None:
    job = JobDir(tmp_path / "job")
    job.root.mkdir()
    job.manifest_path.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(CheckpointError, match="not an idlegrid job manifest"):
        job.read_manifest()


def test_reading_manifests_loads_no_torch() -> None:
    """The worker reads job folders through this module and may run inside the app, which
    never loads torch (its memory is the runner's business)."""
    import subprocess
    import sys

    code = (
        "import sys, engine.training.jobdir, engine.worker; print(sorted({'torch', 'safetensors'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
