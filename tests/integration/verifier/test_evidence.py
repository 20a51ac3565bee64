"""The rules of a segment check (engine.verifier.evidence), on real checkpoints in a real blob store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from engine.chain.anvil import free_port
from engine.storage import HttpStore
from engine.storage.errors import StorageUnavailable
from engine.training.determinism import arithmetic
from engine.verifier.evidence import ReplayFailed, UnverifiableResult, Verdict, check_segment, fetch_result
from tests.integration.verifier.commitments import TrainedJob, tampered, upload


def _rewritten(job: TrainedJob, index: int, dest: Path, change) -> tuple[Path, ...]:
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for i, path in enumerate(job.files):
        copy = dest / path.name
        if i == index:
            tensors = load_file(str(path))
            change(tensors)
            save_file(tensors, str(copy))
        else:
            shutil.copyfile(path, copy)
        files.append(copy)
    return tuple(files)


def test_subprocess_replay_finds_a_mismatch_and_gives_valid_proofs(store, trained, tmp_path: Path) -> None:
    up = upload(store, trained, tampered(trained, 3, tmp_path / "cheat"))
    result = fetch_result(store, up.commitment(1))
    check = check_segment(result, 2, store, tmp_path / "work", in_process=False)
    assert check.verdict is Verdict.MISMATCH
    assert "the worker committed" in check.detail
    assert (check.leaf_a, check.leaf_b) == (up.tree.leaves[2], up.tree.leaves[3])
    assert list(check.proof_b) == up.tree.proof(3)
    assert list((tmp_path / "work").glob("task*")) == []  # the downloaded checkpoints are gone


def test_honest_segment_replays_in_process(store, trained, tmp_path: Path) -> None:
    result = fetch_result(store, upload(store, trained).commitment(1))
    check = check_segment(result, 4, store, tmp_path / "work", in_process=True)
    assert check.verdict is Verdict.HONEST and check.verdict.worker_honest


def test_start_checkpoint_that_does_not_fit_the_model_is_bad_data(store, trained, tmp_path: Path) -> None:
    def add_tensor(tensors: dict) -> None:
        tensors["model.extra"] = np.zeros(3, dtype=np.float32)

    up = upload(store, trained, _rewritten(trained, 2, tmp_path / "cheat", add_tensor))
    check = check_segment(fetch_result(store, up.commitment(1)), 2, store, tmp_path / "work", in_process=True)
    assert check.verdict is Verdict.BAD_DATA
    assert "checkpoint 2 cannot be loaded" in check.detail


def test_checkpoint_at_the_wrong_step_is_bad_data(store, trained, tmp_path: Path) -> None:
    def skip_ahead(tensors: dict) -> None:
        tensors["meta.step"] = np.array(59, dtype=np.int64)  # the spec puts checkpoint 3 at step 60

    up = upload(store, trained, _rewritten(trained, 3, tmp_path / "cheat", skip_ahead))
    check = check_segment(fetch_result(store, up.commitment(1)), 3, store, tmp_path / "work", in_process=True)
    assert (check.verdict, check.detail) == (Verdict.BAD_DATA, "checkpoint 3 is not at step 60, where the spec puts it")


def test_checkpoint_that_is_not_safetensors_is_bad_data(store, trained, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a checkpoint")
    up = upload(store, trained, served={1: junk})
    check = check_segment(fetch_result(store, up.commitment(1)), 0, store, tmp_path / "work", in_process=True)
    assert check.verdict is Verdict.BAD_DATA
    assert "checkpoint 1 is not a readable safetensors file" in check.detail


def test_checkpoint_with_other_tensors_than_committed_is_bad_data(store, trained, tmp_path: Path) -> None:
    up = upload(store, trained, served={5: trained.files[4]})
    check = check_segment(fetch_result(store, up.commitment(1)), 4, store, tmp_path / "work", in_process=True)
    assert check.verdict is Verdict.BAD_DATA
    assert check.detail.startswith("checkpoint 5 hashes to ")


def test_a_spec_that_is_not_the_committed_one_is_unverifiable(store, trained) -> None:
    up = upload(store, trained)
    commitment = up.commitment(1)
    wrong = type(commitment)(1, commitment.merkle_root, commitment.num_leaves, commitment.result_uri, bytes(32))
    with pytest.raises(UnverifiableResult, match="the task's spec"):
        fetch_result(store, wrong)


def test_a_blob_store_that_is_down_is_our_problem_not_the_workers(store, trained) -> None:
    up = upload(store, trained)
    down = HttpStore(f"http://127.0.0.1:{free_port()}", timeout=1.0, retries=1)
    with pytest.raises(StorageUnavailable):
        fetch_result(down, up.commitment(1))


def test_a_failing_replay_of_our_own_raises_instead_of_blaming_the_worker(store, trained, tmp_path: Path) -> None:
    result = fetch_result(store, upload(store, trained).commitment(1))
    with pytest.raises(ReplayFailed, match="exit 2"):
        check_segment(result, 1, store, tmp_path / "work", device="no-such-device")


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
@pytest.mark.parametrize(("device", "declared"), [
    ("cuda", ""), ("cpu", "cpu/GenuineIntel-6-143/AVX512/torch-2.13"), ("cpu", "mixed"), ("mps", "mps/torch-2.13"),
])
def test_what_a_worker_declares_never_stops_a_tolerance_verdict(store, trained, tmp_path: Path, device: str,
                                                               declared: str, in_process: bool) -> None:
    """The spec decides how a result is judged (issue 14): a manifest's device or arithmetic
    once turned every replay into WrongDevice, so the verifier never challenged. A
    tolerance-mode result (the default) is judged by any verifier."""
    result = fetch_result(store, upload(store, trained, device=device, arithmetic=declared).commitment(1))
    check = check_segment(result, 1, store, tmp_path / "work", device="cpu", in_process=in_process)
    assert check.verdict is Verdict.HONEST


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
def test_a_result_with_this_machines_arithmetic_is_judged(store, trained, tmp_path: Path, in_process: bool) -> None:
    result = fetch_result(store, upload(store, trained, arithmetic=arithmetic("cpu")).commitment(1))
    check = check_segment(result, 1, store, tmp_path / "work", device="cpu", in_process=in_process)
    assert check.verdict is Verdict.HONEST


def test_auto_device_follows_the_workers_cpu(store, trained, tmp_path: Path) -> None:
    result = fetch_result(store, upload(store, trained, device="cpu").commitment(1))
    assert check_segment(result, 1, store, tmp_path / "work", device="auto", in_process=True).verdict is Verdict.HONEST
