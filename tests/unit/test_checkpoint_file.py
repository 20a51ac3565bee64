"""The checkpoint file format: what ``checkpoint.write`` produces is plain safetensors."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from engine.training import checkpoint as ckpt


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
    for step in [*range(0, 60), 500, 499, 3, 59]:  # forwards, a jump, then backwards
        expected = torch.from_numpy(batch_indices(spec.seed, step, spec.batch_size, n))
        assert torch.equal(session.batch(step), expected), step
