"""Tests that need a real NVIDIA GPU (NVML and CUDA); everywhere else they skip with the reason.

``tools/device_check.sh`` runs them on a lent GPU machine. The probes below are evaluated once,
at collection, and name why a GPU cannot be used here.
"""

from __future__ import annotations

import functools


@functools.cache
def nvml_missing() -> str | None:
    """Why real NVML is unusable here (None: it works and sees at least one GPU)."""
    from engine.gpu.monitor import NoGpu
    from engine.gpu.nvml import probe_nvml

    found = probe_nvml()
    if isinstance(found, NoGpu):
        return f"no NVIDIA GPU through NVML: {found.reason}"
    found.close()
    return None


@functools.cache
def cuda_missing() -> str | None:
    """Why torch cannot train on CUDA here (None: ``torch.cuda.is_available()``)."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a hard dependency
        return f"torch is not importable: {e}"
    if not torch.cuda.is_available():
        return (f"torch {torch.__version__} sees no CUDA GPU (torch.cuda.is_available() is False; "
                f"built for CUDA {torch.version.cuda})")
    return None
