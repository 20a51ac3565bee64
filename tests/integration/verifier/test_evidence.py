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
from engine.tasks.load import canonical_json, check, parse
from engine.training.determinism import arithmetic
from engine.training.trainer import Trainer
from engine.verifier.evidence import (
    CannotJudgeHere,
    ReplayFailed,
    UnverifiableResult,
    Verdict,
    check_segment,
    fetch_result,
)
from tests.integration.verifier.commitments import TrainedJob, tampered, upload
from tests.specs import quick_mlp


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
    assert "control replay from the spec's initialisation ran" in check.detail


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
    with pytest.raises(ReplayFailed, match=r"exit 2.*control replay .* failed too"):
        check_segment(result, 1, store, tmp_path / "work", device="no-such-device")


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
def test_control_failing_too_is_our_fault_even_on_bad_data(store, trained, tmp_path: Path, in_process: bool) -> None:
    """A verifier whose own replay is broken blames nobody, even when the data is bad too."""
    up = upload(store, trained, _rewritten(trained, 2, tmp_path / "cheat", _crashing_adam))
    with pytest.raises(ReplayFailed, match="fault is this machine's"):
        check_segment(fetch_result(store, up.commitment(1)), 2, store, tmp_path / "work", device="no-such-device",
                      in_process=in_process)


def _crashing_adam(tensors: dict) -> None:
    for name in tensors:
        if name.endswith(".step") and name.startswith("optim."):
            tensors[name] = np.array(-1.5, dtype=np.float32)


def _wrong_dtype(tensors: dict) -> None:
    name = sorted(k for k in tensors if k.startswith("optim.") and k.endswith("exp_avg"))[0]
    tensors[name] = tensors[name].astype(np.float16)


def _wrong_shape(tensors: dict) -> None:
    name = sorted(k for k in tensors if k.startswith("model.") and k.endswith("weight"))[0]
    tensors[name] = tensors[name].reshape(-1)


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
@pytest.mark.parametrize("change", [_crashing_adam, _wrong_dtype, _wrong_shape], ids=["adam-step", "dtype", "shape"])
def test_hash_valid_checkpoint_that_crashes_the_replay_is_bad_data(store, trained, tmp_path: Path, change,
                                                                   in_process: bool) -> None:
    """Issue 14: an optimizer state that makes torch raise (Adam's step = -1.5) once made the
    verifier blame itself (ReplayFailed) until the window closed, so the worker was paid. The
    files hash to their committed leaves, a control replay runs: the worker's fault."""
    up = upload(store, trained, _rewritten(trained, 2, tmp_path / "cheat", change))
    check = check_segment(fetch_result(store, up.commitment(1)), 2, store, tmp_path / "work", in_process=in_process)
    assert check.verdict is Verdict.BAD_DATA, check.detail
    assert "control replay" in check.detail


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
def test_nan_weights_are_a_mismatch(store, trained, tmp_path: Path, in_process: bool) -> None:
    def poison(tensors: dict) -> None:
        name = sorted(k for k in tensors if k.startswith("model."))[0]
        tensors[name] = tensors[name].copy()
        tensors[name].reshape(-1)[0] = np.nan

    up = upload(store, trained, _rewritten(trained, 3, tmp_path / "cheat", poison))
    check = check_segment(fetch_result(store, up.commitment(1)), 2, store, tmp_path / "work", in_process=in_process)
    assert check.verdict is Verdict.MISMATCH, check.detail


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
def test_planted_checkpoint_zero_is_challenged_on_segment_zero(store, trained, tmp_path: Path,
                                                               in_process: bool) -> None:
    """Checkpoint 0 must be the spec's seeded initialisation: checkpoint 0 with one weight
    nudged (and checkpoint 1 as committed) fails segment 0 though nothing else changed."""
    def nudge(tensors: dict) -> None:
        name = sorted(k for k in tensors if k.startswith("model."))[0]
        tensors[name] = tensors[name] * np.float32(1.01)

    up = upload(store, trained, _rewritten(trained, 0, tmp_path / "cheat", nudge))
    check = check_segment(fetch_result(store, up.commitment(1)), 0, store, tmp_path / "work", in_process=in_process)
    assert check.verdict is Verdict.MISMATCH
    assert "initialisation" in check.detail


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


def test_auto_device_replays_here_whatever_the_worker_declared(store, trained, tmp_path: Path) -> None:
    result = fetch_result(store, upload(store, trained, device="mps").commitment(1))
    assert check_segment(result, 1, store, tmp_path / "work", device="auto", in_process=True).verdict is Verdict.HONEST


@pytest.fixture(scope="module")
def exact_here(tmp_path_factory: pytest.TempPathFactory) -> TrainedJob:
    """A tiny exact-mode job naming this machine's arithmetic."""
    root = tmp_path_factory.mktemp("exact")
    checked = check(parse(quick_mlp(steps=20, checkpoint_every=10,
                                    verification={"mode": "exact", "arithmetic": arithmetic("cpu")})))
    Trainer(checked, root / "job").run()
    return TrainedJob(checked, canonical_json(checked.spec), tuple(sorted((root / "job").glob("ckpt-*.safetensors"))))


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
@pytest.mark.parametrize(("device", "declared"), [("cpu", "mixed"), ("mps", "mps/torch-2.13"), ("cuda", "")])
def test_exact_spec_of_our_arithmetic_is_judged_whatever_the_manifest_says(store, exact_here, tmp_path: Path,
                                                                          device: str, declared: str,
                                                                          in_process: bool) -> None:
    """An exact-mode manifest saying "mixed" or another device once raised WrongDevice (no verdict)."""
    result = fetch_result(store, upload(store, exact_here, device=device, arithmetic=declared).commitment(1))
    assert check_segment(result, 1, store, tmp_path / "work", in_process=in_process).verdict is Verdict.HONEST
    cheat = upload(store, exact_here, tampered(exact_here, 2, tmp_path / "cheat"), device=device, arithmetic=declared)
    check = check_segment(fetch_result(store, cheat.commitment(1)), 1, store, tmp_path / "work", in_process=in_process)
    assert check.verdict is Verdict.MISMATCH


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "subprocess"])
def test_exact_spec_of_other_arithmetic_is_not_ours_to_judge(store, tmp_path: Path, in_process: bool) -> None:
    other = check(parse(quick_mlp(steps=20, checkpoint_every=10,
                                  verification={"mode": "exact", "arithmetic": "cuda/NVIDIA-H200/torch-2.11"})))
    Trainer(other, tmp_path / "job").run()
    job = TrainedJob(other, canonical_json(other.spec), tuple(sorted((tmp_path / "job").glob("ckpt-*.safetensors"))))
    result = fetch_result(store, upload(store, job, arithmetic=arithmetic("cpu")).commitment(1))
    with pytest.raises(CannotJudgeHere, match="requires arithmetic cuda/NVIDIA-H200"):
        check_segment(result, 0, store, tmp_path / "work", in_process=in_process)
