"""Dropout masks drawn on CUDA are the CPU's, bit for bit (skipped where torch sees no GPU)."""

from __future__ import annotations

import pytest
import torch

from engine.training.portable_random import DrawCounter, dropout_mask
from tests.device import cuda_missing

pytestmark = pytest.mark.skipif(cuda_missing() is not None, reason=cuda_missing() or "")


@pytest.mark.parametrize("shape", [(64, 128), (32, 4, 32, 32), (3, 1_000_003)])
def test_cuda_masks_equal_cpu_masks(shape: tuple[int, ...]) -> None:
    cpu, gpu = DrawCounter(7), DrawCounter(7)
    for step in (0, 1, 599, 10**6):
        cpu.at_step(step)
        gpu.at_step(step)
        for _ in range(3):
            a = dropout_mask(cpu, torch.Size(shape), 0.1, torch.device("cpu"))
            b = dropout_mask(gpu, torch.Size(shape), 0.1, torch.device("cuda"))
            assert torch.equal(a, b.cpu())
