"""What a task will cost this machine: parameters, memory, FLOPs.

Coarse by design (within a small factor): it decides whether a machine may claim a task and
what pay per hour to expect, not how to tune kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.tasks import spec as s
from engine.tasks.shapes import LayerShape

BYTES_PER_FLOAT = 4
FRAMEWORK_OVERHEAD_MB = 200  # torch's own allocations and the dataset on the side


@dataclass(frozen=True)
class ResourceEstimate:
    params: int
    param_mb: float
    optimizer_mb: float
    activation_mb: float
    memory_mb: float
    flops_per_step: int
    total_flops: int

    def seconds_at(self, flops_per_second: float) -> float:
        return self.total_flops / flops_per_second


def optimizer_states(opt: s.Optimizer) -> int:
    """Float tensors the optimizer keeps per parameter."""
    if isinstance(opt, s.Sgd):
        return 1 if opt.momentum else 0
    return 2


def estimate(spec: s.TaskSpec, layers: list[LayerShape]) -> ResourceEstimate:
    mb = 1024 * 1024
    params = sum(ls.params for ls in layers)
    param_mb = params * BYTES_PER_FLOAT / mb
    optimizer_mb = params * optimizer_states(spec.optimizer) * BYTES_PER_FLOAT / mb
    # forward keeps activations; backward needs a gradient of the same size at the peak
    activation_mb = 2 * spec.batch_size * sum(ls.activations for ls in layers) * BYTES_PER_FLOAT / mb
    memory_mb = 2 * param_mb + optimizer_mb + activation_mb + FRAMEWORK_OVERHEAD_MB
    flops_per_step = 3 * spec.batch_size * sum(ls.flops for ls in layers)
    return ResourceEstimate(
        params=params,
        param_mb=round(param_mb, 3),
        optimizer_mb=round(optimizer_mb, 3),
        activation_mb=round(activation_mb, 3),
        memory_mb=round(memory_mb, 1),
        flops_per_step=flops_per_step,
        total_flops=flops_per_step * spec.steps,
    )
