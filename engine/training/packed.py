"""Checkpoints packed into one buffer that already is the leaf hash's input.

The trainer checkpoints on a background thread, and on a small machine the cost of that
thread to the training thread is set by how often the two trade the GIL (each trade is a
cross-core wake-up, tens of microseconds on a VM), not by how many bytes it hashes. A
checkpoint of separate tensors takes dozens of trades: one per tensor hashed and one per
system call. Packed, it takes a handful:

* the training thread copies the whole state with one ``torch.cat`` into a ``uint8`` buffer
  laid out as the canonical leaf encoding (``engine.commit.leaf``): the magic, then for each
  tensor in name order its prefix (name, dtype, shape, length) and its bytes;
* the writer hashes that buffer with one ``sha256`` call and writes the safetensors file with
  one ``writev``: the header (built once per layout) and the tensors' byte ranges of the buffer.

A ``Layout`` (names, dtypes, shapes) is computed once per model and optimizer state shape
(checkpoint 0 has no optimizer state yet, so a job has two) and reused for every checkpoint.

On CUDA the buffer is copied to pinned host memory without blocking (:func:`to_host`): the
training thread queues the copy and an event behind it and goes on with the next step; the
writer waits for that event (:meth:`Packed.wait`) before it hashes. A plain ``.cpu()`` would
sync the stream at every checkpoint, idling the GPU until the copy is done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from engine.commit.leaf import MAGIC, dtype_code, leaf_prefix
from engine.errors import CheckpointError
from engine.training import stfile
from engine.training.checkpoint import STEP_KEY, state_tensors

Signature = tuple[tuple[str, torch.dtype, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Layout:
    """Where each tensor of one state shape sits in a packed buffer, and its file header."""

    names: tuple[str, ...]  # canonical (hash) order
    header: bytes  # the safetensors length prefix and header
    file_ranges: tuple[tuple[int, int], ...]  # tensor bytes in the buffer, in file order
    prefixes: tuple[torch.Tensor, ...]  # per name: the encoding before its bytes (uint8)

    @classmethod
    def of(cls, signature: Signature, device: torch.device) -> Layout:
        entries = sorted(signature, key=lambda e: e[0].encode("utf-8"))
        prefixes, ranges, files = [], {}, {}
        offset = 0
        for i, (name, dtype, shape) in enumerate(entries):
            code = _code(dtype, name)
            nbytes = torch.empty(shape, dtype=dtype, device="meta").nbytes
            raw = (MAGIC if i == 0 else b"") + leaf_prefix(name, code, shape, nbytes)
            prefixes.append(torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(device))
            offset += len(raw)
            ranges[name] = (offset, offset + nbytes)
            files[name] = (code, shape, nbytes)
            offset += nbytes
        header, order = stfile.header(files)
        file_ranges = tuple(ranges[name] for name in order if files[name][2])
        return cls(tuple(name for name, _, _ in entries), header, file_ranges, tuple(prefixes))


@dataclass(frozen=True)
class Packed:
    """One checkpoint: the step and the canonical encoding of its tensors, on the CPU."""

    step: int
    data: torch.Tensor  # uint8, CPU; from a GPU: pinned, and complete only once ``ready`` fired
    layout: Layout
    ready: CopyDone | None = None  # the copy from the GPU (None: ``data`` is complete already)

    def wait(self) -> None:
        """Block until ``data`` holds the whole checkpoint (returns at once when it was on the CPU)."""
        if self.ready is not None:
            self.ready.synchronize()

    def leaf(self) -> bytes:
        self.wait()
        return hashlib.sha256(self.data.numpy().data).digest()

    def write(self, path: Path) -> None:
        """The safetensors file, in place (see ``stfile.write_in_place`` for when that is safe)."""
        self.wait()
        view = self.data.numpy().data
        stfile.write_buffers(path, [self.layout.header, *(view[a:b] for a, b in self.layout.file_ranges)])


class Packer:
    """Packs a model's and optimizer's state; caches a ``Layout`` per state shape."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self._layouts: dict[Signature, Layout] = {}

    def pack(self, step: int) -> Packed:
        tensors = state_tensors(self.model, self.optimizer)
        device = next(iter(tensors.values())).device if tensors else torch.device("cpu")
        tensors[STEP_KEY] = torch.tensor(step, dtype=torch.int64, device=device)
        signature = tuple((name, t.dtype, tuple(t.shape)) for name, t in tensors.items())
        layout = self._layouts.get(signature)
        if layout is None:
            layout = self._layouts[signature] = Layout.of(signature, device)
        pieces = []
        for prefix, name in zip(layout.prefixes, layout.names):
            t = tensors[name].detach()
            if t.device != device:  # optimizer step counters stay on the CPU
                t = t.to(device)
            pieces.append(prefix)
            pieces.append(t.reshape(-1).view(torch.uint8))
        data = torch.cat(pieces)
        if data.device.type == "cpu":
            return Packed(step, data, layout)
        if data.device.type == "cuda":
            host, ready = to_host(data)
            return Packed(step, host, layout, ready)
        return Packed(step, data.cpu(), layout)  # other devices: a blocking copy


class CopyDone(Protocol):
    """What the writer waits on: a ``torch.cuda.Event`` recorded after the copy."""

    def synchronize(self) -> None: ...


def to_host(data: torch.Tensor) -> tuple[torch.Tensor, CopyDone]:
    """Queue a copy of the CUDA tensor ``data`` into pinned host memory; the host tensor and the
    event that fires once it is complete. Nothing waits here. The source may be freed at once:
    the allocator reuses it only for work queued later on the same stream, after the copy."""
    host = torch.empty(data.shape, dtype=data.dtype, pin_memory=True)
    host.copy_(data, non_blocking=True)
    ready = torch.cuda.Event()  # type: ignore[no-untyped-call]
    ready.record()  # on the current stream, behind the copy
    return host, ready


def _code(dtype: torch.dtype, name: str) -> str:
    try:
        array = torch.empty(0, dtype=dtype).numpy()
    except TypeError:  # bfloat16 and the like: numpy has no such dtype
        raise CheckpointError(f"tensor {name!r} has dtype {dtype}, which checkpoints cannot hold",
                              hint="train in float32") from None
    return dtype_code(array, name)
