"""Random draws that give the same bits on every device: dropout masks from an integer hash.

A device's own generator (CPU's mt19937, CUDA's Philox with its own launch layout) draws
different masks from the same seed, so a segment trained on a GPU and replayed on a CPU
diverged as much as a cheat did (issue 14). Here a draw is a pure function of
(seed, step, draw, element): ``derive`` turns (seed, step, draw) into a 64-bit key on the
host, and a 32-bit integer hash of (element, key) runs as int64 tensor ops on the training
device. Every product is of a value below 2**32 by a constant below 2**31, so it stays below
2**63: no int64 overflow, no float, nothing a device may round differently. The keep/drop
decision compares the hash with an integer threshold, so the mask is bit-identical on CPU,
CUDA and any device with int64 tensors.

The hash of the element index alone is cached per (size, device): a step then costs one
hash round over the elements (a few in-place integer ops) plus the multiply by the mask. On
the CPU the round runs in numpy uint32 (same bits, a third of the cost). Measured on this
project's 2-core VM: a 64x128 mask and its multiply cost about 20 us a step more than
``F.dropout``; see ``bench.overhead``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.training.sampling import STREAM_DROPOUT, derive_next, derive_prefix

_LOW32 = 0xFFFFFFFF
# odd multipliers below 2**31 (so that x * c < 2**63 for x < 2**32), each followed by a shift
# that folds the high bits back in: a lowbias32-style finaliser (Wellons' hash-prospector)
_MUL1 = 0x7FEB352D
_MUL2 = 0x2C1B3C6D


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit avalanche of each element of ``x`` (int64 holding values < 2**32), in place."""
    x ^= x >> 16
    x.mul_(_MUL1).bitwise_and_(_LOW32)
    x ^= x >> 15
    x.mul_(_MUL2).bitwise_and_(_LOW32)
    x ^= x >> 16
    return x


def element_hash(numel: int, device: torch.device | str) -> torch.Tensor:
    """The per-element base of every draw: ``mix32(i)`` and ``mix32(i >> 32)`` folded, int64."""
    i = torch.arange(numel, dtype=torch.int64, device=device)
    base = _mix32(i & _LOW32)
    if numel > _LOW32:
        base ^= _mix32(i >> 32)
    return base


def _fold(key: int) -> int:
    """A 64-bit key's two halves xored into 32 bits (the key is already SplitMix64-mixed)."""
    return (key ^ (key >> 32)) & _LOW32


def keep_bits(base: torch.Tensor, key: int) -> torch.Tensor:
    """Fresh 32-bit hashes of ``base`` under ``key``: one round over ``base`` xor the folded key
    (a second round cost half as much again per mask and changed nothing a mask needs)."""
    return _mix32(base ^ _fold(key))


_MUL1_U32 = np.uint32(_MUL1)
_MUL2_U32 = np.uint32(_MUL2)


def keep_bits_host(base: np.ndarray, key: int) -> np.ndarray:
    """``keep_bits`` in numpy uint32, for masks on the CPU: the same bits (uint32 multiplies wrap
    mod 2**32 by definition, which is what the int64 version's multiply-then-mask computes), at a
    third of the cost: half the bytes per op and no masking ops. Measured on this project's VM,
    12 us against 38 us for a 64x128 mask, about 4 % of a digits-mlp step."""
    x = base ^ np.uint32(_fold(key))
    x ^= x >> 16
    x *= _MUL1_U32
    x ^= x >> 15
    x *= _MUL2_U32
    x ^= x >> 16
    return x


def threshold(p: float) -> int:
    """The integer below which a 32-bit draw drops its element: round(p * 2**32)."""
    return round(p * 2.0**32)


@dataclass
class DrawCounter:
    """Where a training step is in its random draws: the step's key and the next draw's index.

    The session calls ``at_step`` before each step; each dropout call takes the next draw.
    Evaluation draws nothing (dropout is off in eval mode).
    """

    seed: int
    step_key: int = 0
    draw: int = 0
    _prefix: int = field(init=False)
    _bases: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict, init=False)
    _host_bases: dict[int, np.ndarray] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._prefix = derive_prefix(self.seed, STREAM_DROPOUT)

    def at_step(self, step: int) -> None:
        self.step_key = derive_next(self._prefix, step)
        self.draw = 0

    def next_key(self) -> int:
        """A 64-bit key for this step's next draw: (seed, step, draw) through SplitMix64."""
        key = derive_next(self.step_key, self.draw)
        self.draw += 1
        return key

    def base(self, numel: int, device: torch.device) -> torch.Tensor:
        slot = (numel, str(device))
        cached = self._bases.get(slot)
        if cached is None:
            cached = self._bases[slot] = element_hash(numel, device)
        return cached

    def host_base(self, numel: int) -> np.ndarray:
        """``base`` for the CPU as numpy uint32 (every value is below 2**32)."""
        cached = self._host_bases.get(numel)
        if cached is None:
            cached = self._host_bases[numel] = element_hash(numel, "cpu").numpy().astype(np.uint32)
        return cached


def dropout_mask(counter: DrawCounter, shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A bool keep-mask of ``shape``: element i is kept when its draw is >= round(p * 2**32)."""
    numel, limit = shape.numel(), threshold(p)
    if device.type == "cpu" and numel <= _LOW32:
        bits = keep_bits_host(counter.host_base(numel), counter.next_key())
        # a threshold of 2**32 (p within 2**-33 of 1) drops everything; a uint32 cannot hold it
        keep = bits >= limit if limit <= _LOW32 else np.zeros(numel, dtype=np.bool_)
        return torch.from_numpy(keep).view(shape)
    base = counter.base(numel, device)
    return torch.ge(keep_bits(base, counter.next_key()), limit).view(shape)


def dropout_scale(counter: DrawCounter, shape: torch.Size, p: float, device: torch.device,
                  dtype: torch.dtype) -> torch.Tensor:
    """The keep-mask of ``dropout_mask`` as ``dtype``, kept elements already scaled by 1/(1-p).

    Dropout is then ``x * scale``: one multiply forward and one backward, with no tensor of the
    graph needing the mask's gradient. Multiplying by (keep * s) gives the same bits as
    (x * keep) * s, since keep is 0 or 1, so this is exactly ``F.dropout``'s arithmetic.
    """
    return dropout_mask(counter, shape, p, device).to(dtype).mul_(1.0 / (1.0 - p))


class PortableDropout(nn.Module):
    """``nn.Dropout`` whose masks come from ``dropout_mask``; needs a ``DrawCounter`` to train.

    Same semantics as ``nn.Dropout`` (scale kept elements by 1/(1-p) in training, identity in
    eval), same state dict (none), so checkpoints are unchanged in layout.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.counter: DrawCounter | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.counter is None:
            raise RuntimeError("PortableDropout has no DrawCounter: attach one with attach_counter()")
        # one multiply by a precomputed scaled mask each way: measured fwd+bwd on a 64x128
        # activation, 5 us against 31 us for aten's native_dropout_backward (whose own backward
        # is slow) and 67 us for F.dropout (bench.overhead, issue 14)
        return x * dropout_scale(self.counter, x.shape, self.p, x.device, x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def attach_counter(model: nn.Module, counter: DrawCounter) -> bool:
    """Give every ``PortableDropout`` in ``model`` the counter; whether the model has any."""
    found = False
    for module in model.modules():
        if isinstance(module, PortableDropout):
            module.counter = counter
            found = True
    return found
