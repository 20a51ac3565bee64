"""On CUDA a checkpoint is copied to pinned host memory without blocking the training thread, and
what the writer reads once the event fired is exactly what a blocking ``.cpu()`` copy gives."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.device import cuda_missing

pytestmark = pytest.mark.skipif(cuda_missing() is not None, reason=cuda_missing() or "")


def test_a_cuda_checkpoint_is_pinned_waited_for_and_equal_to_a_blocking_copy(tmp_path: Path, figures) -> None:
    import torch

    from engine.training import checkpoint as ckpt
    from engine.training.packed import Packer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 1024)).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(64, 1024, device="cuda")).sum().backward()
    optimizer.step()
    packer = Packer(model, optimizer)
    packer.pack(1).wait()  # layouts and the pinned pool, once
    torch.cuda.synchronize()

    started = time.perf_counter()
    packed = packer.pack(2)
    queued_s = time.perf_counter() - started
    assert packed.ready is not None and packed.data.is_pinned()
    packed.wait()
    waited_s = time.perf_counter() - started
    plain = ckpt.capture(2, model, optimizer)
    assert packed.leaf() == ckpt.hash_tensors(plain)
    packed.write(tmp_path / "ckpt.safetensors")
    assert ckpt.read(tmp_path / "ckpt.safetensors").leaf == packed.leaf()

    live = [
        t.detach().reshape(-1).view(torch.uint8) for t in ckpt.state_tensors(model, optimizer).values() if t.is_cuda
    ]
    torch.cuda.synchronize()
    started = time.perf_counter()
    torch.cat(live).cpu()  # what the packer did before: the training thread waits for the copy
    blocking_s = time.perf_counter() - started
    figures.add("checkpoint_mib", round(packed.data.numel() / 2**20, 1))
    figures.add("pack_queued_ms", round(queued_s * 1000, 3))
    figures.add("pack_until_ready_ms", round(waited_s * 1000, 3))
    figures.add("blocking_copy_ms", round(blocking_s * 1000, 3))
