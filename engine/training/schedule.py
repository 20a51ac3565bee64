"""Learning rate as a pure function of the step, bit-identical on every machine.

The cosine is a fixed Taylor polynomial evaluated in a fixed order: plain IEEE adds and
multiplies, where ``math.cos`` would defer to the platform's libm, whose last bit differs
between operating systems, and a different lr is a different checkpoint.
"""

from __future__ import annotations

from engine.tasks import spec as s

PI = 3.141592653589793


def portable_cos(x: float) -> float:
    """cos(x) for 0 <= x <= pi, to ~1e-16, identically everywhere."""
    x2 = x * x
    term, total = 1.0, 1.0
    for k in range(1, 25):
        term = -term * x2 / ((2 * k - 1) * (2 * k))
        total = total + term
    return total


def lr_at(spec: s.TaskSpec, step: int) -> float:
    """The learning rate used for the update of step ``step`` (0-based)."""
    base = spec.optimizer.lr
    sched = spec.schedule
    if isinstance(sched, s.ConstantSchedule):
        return base
    if step < sched.warmup_steps:
        return base * (step + 1) / sched.warmup_steps
    if isinstance(sched, s.WarmupSchedule):
        return base
    span = max(spec.steps - sched.warmup_steps - 1, 1)
    progress = min((step - sched.warmup_steps) / span, 1.0)
    floor = sched.min_lr_ratio
    return base * (floor + (1.0 - floor) * 0.5 * (1.0 + portable_cos(PI * progress)))
