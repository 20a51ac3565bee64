"""The checkpoint copy off the device: on the CPU nothing waits; a pending copy is waited for before
the writer reads the buffer (the CUDA path itself is tests/device/test_pinned_checkpoint.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from engine.training import checkpoint as ckpt
from engine.training.packed import Packed, Packer


def packed_linear(step: int = 1) -> Packed:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    return Packer(model, torch.optim.SGD(model.parameters(), lr=0.1)).pack(step)


def test_on_the_cpu_the_buffer_is_complete_at_once_and_nothing_waits() -> None:
    packed = packed_linear()
    assert packed.ready is None and packed.data.device.type == "cpu"
    packed.wait()  # a no-op: returns at once


class LateCopy:
    """A device copy that lands only when waited for (a simulated ``torch.cuda.Event``): until
    then the host buffer holds zeros, as pinned memory does before an asynchronous copy ends."""

    def __init__(self, host: torch.Tensor, source: torch.Tensor) -> None:
        self.host, self.source, self.waits = host, source, 0

    def synchronize(self) -> None:
        self.waits += 1
        self.host.copy_(self.source)


def test_the_leaf_and_the_file_wait_for_a_pending_copy(tmp_path: Path) -> None:
    done = packed_linear()
    host = torch.zeros_like(done.data)
    late = replace(done, data=host, ready=LateCopy(host, done.data.clone()))
    assert late.leaf() == done.leaf()  # hashed after the copy landed, not the zeros before it
    late.write(tmp_path / "late.safetensors")
    done.write(tmp_path / "done.safetensors")
    assert (tmp_path / "late.safetensors").read_bytes() == (tmp_path / "done.safetensors").read_bytes()
    assert ckpt.read(tmp_path / "late.safetensors").leaf == done.leaf()
    assert late.ready.waits == 2
