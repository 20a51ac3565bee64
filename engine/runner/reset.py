"""Putting a reused runner process back as it was when it said ``ready``.

A job must train to the same Merkle root as the first job of a fresh runner as in the tenth of
a reused one. ``Session.open`` sets what training depends on (seed, thread count, default dtype,
deterministic kernels) before every job, so a job does not depend on what ran before it; this
is the second line: everything process-wide that a job can change is captured once, before the
first job, and restored after each one, so a reused runner is a fresh one as far as torch, numpy
and Python's random modules can tell. What stays is pure caches (the digits arrays, epoch
permutations, corpus text), keyed by their inputs, and the imports.

A job that used CUDA is not followed by another in the same process (see ``server.reusable``):
its context holds GPU memory that only the process's exit frees, which the idle policy needs.
"""

from __future__ import annotations

import gc
import random
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class ProcessState:
    """torch's, numpy's and Python's process-wide settings and random states."""

    threads: int
    deterministic: bool
    deterministic_warn_only: bool
    default_dtype: torch.dtype
    grad_enabled: bool
    matmul_precision: str
    cudnn: tuple[bool, bool, bool]  # benchmark, deterministic, allow_tf32
    cuda_matmul_tf32: bool
    torch_rng: torch.Tensor
    numpy_rng: tuple[Any, ...] | dict[str, Any]  # np.random.get_state(), typed as either
    python_rng: tuple[Any, ...]
    switch_interval: float

    @classmethod
    def capture(cls) -> ProcessState:
        cudnn = torch.backends.cudnn
        return cls(
            threads=torch.get_num_threads(),
            deterministic=torch.are_deterministic_algorithms_enabled(),
            deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
            default_dtype=torch.get_default_dtype(),
            grad_enabled=torch.is_grad_enabled(),
            matmul_precision=torch.get_float32_matmul_precision(),
            cudnn=(cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32),
            cuda_matmul_tf32=torch.backends.cuda.matmul.allow_tf32,
            torch_rng=torch.get_rng_state(),
            numpy_rng=np.random.get_state(),
            python_rng=random.getstate(),
            switch_interval=sys.getswitchinterval(),
        )

    def restore(self) -> None:
        """Set everything back, and collect the last job's garbage (its model, data, optimizer):
        milliseconds once the runner has frozen its imports' objects (``gc.freeze``), 0.15 CPU-s
        before."""
        gc.collect()
        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.deterministic_warn_only)
        torch.set_default_dtype(self.default_dtype)
        torch.set_grad_enabled(self.grad_enabled)
        torch.set_float32_matmul_precision(self.matmul_precision)
        cudnn = torch.backends.cudnn
        cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = self.cudnn
        torch.backends.cuda.matmul.allow_tf32 = self.cuda_matmul_tf32
        torch.set_rng_state(self.torch_rng)
        np.random.set_state(self.numpy_rng)
        random.setstate(self.python_rng)
        sys.setswitchinterval(self.switch_interval)


def cuda_used() -> bool:
    """Whether this process has a CUDA context (so holds GPU memory until it exits)."""
    return bool(torch.cuda.is_initialized())  # type: ignore[no-untyped-call]  # torch leaves it unannotated
