"""Process-wide settings that make training a pure function of (spec, checkpoint)."""

from __future__ import annotations

import os

import torch

# cuBLAS reads this once, when CUDA starts: set it as soon as any trainer code is imported,
# so that a process which touches CUDA before ``configure`` (a test, a verifier) still gets
# deterministic GEMMs instead of an error from use_deterministic_algorithms.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def configure(threads: int) -> None:
    """Deterministic kernels, fixed thread count, no autotuning; float32 throughout.

    Must run before the first CUDA call: cuBLAS reads its workspace setting at init.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def pick_device(requested: str = "auto") -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        from engine.errors import UsageError

        raise UsageError("--device cuda was asked for but torch sees no CUDA GPU",
                         hint="use --device cpu, or install the CUDA build of torch")
    return requested
