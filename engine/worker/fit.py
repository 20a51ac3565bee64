"""Does this task fit this machine, finish in time, and pay enough? Decided before claiming.

Claiming locks a stake that is lost if the result comes too late, so the worker only claims
what it can finish: the spec's memory estimate against this machine's memory (the allowed
share of the GPU's, or the RAM available in CPU mode, and the user's own cap), the time
estimate (FLOPs / throughput, times a safety margin) against the task's training timeout and
the spec's own ``limits.max_seconds``, and the expected pay per hour against the user's
minimum. Pure functions on plain values: no torch, no chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from engine.gpu.monitor import GpuSnapshot
from engine.tasks.load import CheckedSpec
from engine.worker.config import DEFAULT_CPU_FLOPS, DEFAULT_GPU_FLOPS, WorkerConfig

ETHER = 10**18
MIB = 1024 * 1024


@dataclass(frozen=True)
class Machine:
    """What this machine offers a task now."""

    kind: str                  # "gpu" or "cpu"
    memory_mb: float           # what a task may use
    memory_source: str         # where that figure comes from, for the reason text
    flops_per_second: float
    flops_source: str          # "configured", "measured" or "default"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str                # why not (or a one-line summary when ok)
    need_mb: float
    est_seconds: float
    wei_per_hour: int


def machine(snapshot: GpuSnapshot, *, device: int, max_vram_share: float, config: WorkerConfig,
            measured_flops: float | None) -> Machine:
    """This machine as the GPU backend reports it: the VRAM share the policy allows on a GPU,
    the RAM available in CPU mode (or with no usable GPU), capped by ``config.max_memory_mb``."""
    dev = snapshot.device(device)
    if snapshot.backend in ("nvml", "simulated") and dev is not None and dev.memory_total_mib:
        kind, memory = "gpu", dev.memory_total_mib * max_vram_share
        source = f"the {max_vram_share:.0%} of {dev.name}'s {dev.memory_total_mib} MiB you allow"
    else:
        kind, memory = "cpu", psutil.virtual_memory().available / MIB
        source = f"the {memory:,.0f} MiB of RAM available"
    if config.max_memory_mb is not None and config.max_memory_mb < memory:
        memory, source = float(config.max_memory_mb), f"your cap of {config.max_memory_mb} MiB ([worker] max_memory_mb)"
    if config.flops_per_second is not None:
        flops, flops_source = config.flops_per_second, "configured"
    elif measured_flops is not None:
        flops, flops_source = measured_flops, "measured"
    else:
        flops, flops_source = (DEFAULT_GPU_FLOPS if kind == "gpu" else DEFAULT_CPU_FLOPS), "default"
    return Machine(kind, memory, source, flops, flops_source)


def judge(checked: CheckedSpec, *, reward: int, train_timeout: int, machine: Machine,
          config: WorkerConfig) -> Verdict:
    """Whether to claim: the first reason not to, in the order memory, time, pay."""
    est = checked.estimate
    seconds = est.total_flops / machine.flops_per_second
    margin = config.deadline_margin
    per_hour = int(reward * 3600 / max(seconds, 1.0))

    def no(reason: str) -> Verdict:
        return Verdict(False, reason, est.memory_mb, seconds, per_hour)

    if est.memory_mb > machine.memory_mb:
        return no(f"needs about {est.memory_mb:,.0f} MiB, over {machine.memory_source}")
    if seconds * margin > train_timeout:
        return no(f"would train for about {_duration(seconds)} ({machine.flops_source} speed "
                  f"{machine.flops_per_second:.3g} FLOP/s, x{margin:g} margin), over the task's "
                  f"training timeout of {_duration(train_timeout)}")
    if seconds * margin > checked.spec.limits.max_seconds:
        return no(f"would train for about {_duration(seconds)} (x{margin:g} margin), over the spec's "
                  f"limits.max_seconds of {checked.spec.limits.max_seconds}")
    if per_hour < config.min_wei_per_hour:
        return no(f"pays about {per_hour / ETHER:.6g} ETH/h, below your minimum of "
                  f"{config.min_wei_per_hour / ETHER:.6g} ETH/h ([worker] min_wei_per_hour)")
    return Verdict(True, f"fits: about {est.memory_mb:,.0f} MiB, {_duration(seconds)}, "
                         f"{per_hour / ETHER:.6g} ETH/h", est.memory_mb, seconds, per_hour)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
