"""Process-wide settings that make training a pure function of (spec, checkpoint)."""

from __future__ import annotations

import os
import platform

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


def arithmetic(device: str) -> str:
    """A name for the floating-point arithmetic ``device`` computes with here: two machines
    with the same name are expected to train a spec bit for bit alike, so an exact-mode verifier
    judges only results whose arithmetic is its own.

    Measured, not assumed: digits-mlp's root is the same under torch 2.11 and 2.13 on one CPU,
    but differs between this project's AMD EPYC VM and the host CPU of a lent H200 machine
    (same torch, same losses to six digits), and between torch's AVX512, AVX2 and plain kernels
    on one CPU. So a CPU is named by vendor, family and model and by the vector kernels torch
    picked; a GPU by its name and compute capability; both with torch's and CUDA's versions.
    Finer than needed, never coarser: a verifier that cannot judge a result leaves it alone,
    one that judges with other arithmetic would challenge an honest worker.
    """
    torch_version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    where = torch.device(device)
    if where.type == "cuda":
        index = where.index if where.index is not None else torch.cuda.current_device()
        major, minor = torch.cuda.get_device_capability(index)
        name = torch.cuda.get_device_name(index).replace(" ", "_")
        return f"cuda/{name}/sm_{major}{minor}/torch-{torch_version}/cuda-{torch.version.cuda}"
    if where.type == "cpu":
        return f"cpu/{_cpu_model()}/{torch.backends.cpu.get_cpu_capability()}/torch-{torch_version}"
    return f"{where.type}/torch-{torch_version}"


def _cpu_model() -> str:
    """``vendor-family-model`` from /proc/cpuinfo (x86 Linux), else the machine's name."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    if "vendor_id" in fields:
        return f"{fields['vendor_id']}-{fields.get('cpu family', '?')}-{fields.get('model', '?')}"
    return f"{platform.system()}-{platform.machine()}".replace(" ", "_")
