"""The checkpoint file format: what ``checkpoint.write`` and packed checkpoints produce is plain safetensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save as save_numpy
from safetensors.torch import save_file

from engine.errors import CheckpointError
from engine.training import checkpoint as ckpt
from engine.training import stfile
from engine.training.packed import Packer


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return {
        "model.0.weight": torch.randn(5, 3, generator=g),
        "model.0.bias": torch.zeros(5),
        "optim.0.weight.step": torch.tensor(4.0),
        "model.emb.weight": torch.randn(2, 2, generator=g).to(torch.float64),
        ckpt.STEP_KEY: torch.tensor(12, dtype=torch.int64),
    }


def test_written_file_is_byte_identical_to_safetensors_torch(tmp_path: Path) -> None:
    tensors = _tensors()
    snap = ckpt.Snapshot(12, tensors, ckpt.hash_tensors(tensors))
    ckpt.write(snap, tmp_path / "ours.safetensors")
    save_file(tensors, str(tmp_path / "theirs.safetensors"))
    assert (tmp_path / "ours.safetensors").read_bytes() == (tmp_path / "theirs.safetensors").read_bytes()


def test_written_file_reads_back_with_the_same_leaf(tmp_path: Path) -> None:
    tensors = _tensors()
    snap = ckpt.Snapshot(12, tensors, ckpt.hash_tensors(tensors))
    ckpt.write(snap, tmp_path / "c.safetensors")
    back = ckpt.read(tmp_path / "c.safetensors")
    assert back.step == 12 and back.leaf == snap.leaf
    assert not (tmp_path / "c.safetensors.tmp").exists()


def test_session_batches_equal_batch_indices_across_epoch_boundaries() -> None:
    """The cached per-epoch slices (and the joins of straddling batches) are the pinned order."""
    from engine.tasks.load import check, parse
    from engine.training.sampling import batch_indices
    from engine.training.trainer import Session
    from tests.specs import example

    raw = example("digits-mlp")
    raw["batch_size"] = 100  # 1437 training samples: most epoch ends fall inside a batch
    session = Session.open(check(parse(raw, origin="test")))
    spec, n = session.checked.spec, len(session.data.train)
    for step in [*range(60), 500, 499, 3, 59]:  # forwards, a jump, then backwards
        expected = torch.from_numpy(batch_indices(spec.seed, step, spec.batch_size, n))
        assert torch.equal(session.batch(step), expected), step


# -- the streaming writer and packed checkpoints ----------------------------------------------
EVERY_DTYPE = {
    "f64": np.float64, "f32": np.float32, "f16": np.float16, "i64": np.int64, "i32": np.int32,
    "i16": np.int16, "i8": np.int8, "u8": np.uint8, "flag": np.bool_,
}


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    out = {f"t.{name}": (rng.standard_normal((3, 4)) * 50).astype(dt) for name, dt in EVERY_DTYPE.items()}
    out["scalar"] = np.array(7, dtype=np.int64)  # 0-d: shape [] in the header
    out["empty"] = np.zeros((0, 3), dtype=np.float32)  # no bytes at all
    out["b.zeta"] = np.arange(6, dtype=np.float32)
    return out


def test_stfile_writes_what_safetensors_writes_for_every_dtype(tmp_path: Path) -> None:
    arrays = _arrays()
    stfile.write_in_place(tmp_path / "ours", arrays)
    assert (tmp_path / "ours").read_bytes() == save_numpy(arrays)


def test_stfile_makes_strided_and_big_endian_arrays_canonical(tmp_path: Path) -> None:
    plain = np.arange(12, dtype=np.float32).reshape(3, 4)
    odd = {"t": plain.T, "big": plain.astype(">f4")}  # a transposed view, a big-endian copy
    stfile.write_atomic(tmp_path / "f", odd)
    back = ckpt.load_file(str(tmp_path / "f"))
    assert torch.equal(back["t"], torch.from_numpy(np.ascontiguousarray(plain.T)))
    assert torch.equal(back["big"], torch.from_numpy(plain))
    assert not (tmp_path / "f.tmp").exists()


def test_stfile_finishes_after_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """writev may write less than asked (signals, pipes, full disks): the rest must follow."""
    real = stfile.os.writev
    calls = []

    def stingy(fd: int, buffers: list) -> int:
        calls.append(len(buffers))
        return real(fd, [bytes(buffers[0])[:5]])  # at most 5 bytes per call

    monkeypatch.setattr(stfile.os, "writev", stingy)
    arrays = {"a": np.arange(5, dtype=np.float32), "b": np.arange(3, dtype=np.int64)}
    stfile.write_in_place(tmp_path / "f", arrays)
    assert (tmp_path / "f").read_bytes() == save_numpy(arrays)
    assert len(calls) > 10


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn", "tiny-charlm"])
def test_packed_checkpoint_has_the_leaf_and_file_of_a_plain_capture(name: str, tmp_path: Path) -> None:
    """The one-buffer fast path (leaf = one sha256 call, file = one writev) must agree byte for
    byte with hashing and saving the tensors one by one, before and after the optimizer has state."""
    from engine.tasks.load import load_spec
    from engine.training.trainer import Session
    from tests.conftest import TASKS

    session = Session.open(load_spec(TASKS / f"{name}.json"))
    for step in (0, 2):
        session.run_segment(0, step)
        packed = session.pack(step)
        plain = ckpt.capture(step, session.model, session.optimizer)
        assert packed.leaf() == ckpt.hash_tensors(plain)
        packed.write(tmp_path / f"{step}.safetensors")
        save_file(plain, str(tmp_path / f"{step}.theirs"))
        assert (tmp_path / f"{step}.safetensors").read_bytes() == (tmp_path / f"{step}.theirs").read_bytes()
        assert ckpt.read(tmp_path / f"{step}.safetensors").leaf == packed.leaf()


def test_packer_reuses_its_layout_and_refuses_dtypes_checkpoints_cannot_hold() -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    packer = Packer(model, optimizer)
    first, second = packer.pack(1), packer.pack(2)
    assert first.layout is second.layout and first.leaf() != second.leaf()  # only meta.step differs
    model.to(torch.bfloat16)
    with pytest.raises(CheckpointError, match=r"model\.(weight|bias).*bfloat16"):
        packer.pack(3)
