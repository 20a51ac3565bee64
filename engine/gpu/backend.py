"""``open_backend``: the monitor the settings ask for.

"auto" and "nvml" use NVML when it works; otherwise CPU mode when ``allow_cpu`` is set, else
the "no GPU" backend whose snapshots carry the reason. "cpu" forces CPU mode. A simulation is
used only when named (``simulated:<timeline file>``, relative to the config folder), never
in place of a missing GPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.config import paths
from engine.gpu.monitor import GpuBackend, NoGpu
from engine.gpu.nogpu import CpuBackend, NoGpuBackend
from engine.gpu.nvml import probe_nvml
from engine.gpu.settings import GpuSettings
from engine.gpu.simulated import SimulatedBackend


def open_backend(
    settings: GpuSettings | None = None,
    *,
    nvml: Any | None = None,
    clock: Callable[[], float] | None = None,
) -> GpuBackend:
    """The backend for ``settings`` (``[gpu]``); ``nvml`` and ``clock`` are for tests."""
    settings = settings or GpuSettings()
    timeline = settings.simulated_timeline
    if timeline is not None:
        path = Path(timeline).expanduser()
        if not path.is_absolute():
            path = paths().config_dir / path
        return SimulatedBackend.from_file(path, clock=clock or time.monotonic)
    wall = clock or time.time
    if settings.backend == "cpu":
        return CpuBackend(NoGpu("CPU mode chosen in settings ([gpu] backend = \"cpu\")"), clock=wall)
    found = probe_nvml(nvml, clock=wall)
    if not isinstance(found, NoGpu):
        return found
    if settings.allow_cpu:
        return CpuBackend(found, clock=wall)
    return NoGpuBackend(found, clock=wall)


def nvidia_gpu_present() -> bool:
    """Whether NVML sees a GPU here (the settings word their rules for the CPU when not)."""
    found = probe_nvml()
    if isinstance(found, NoGpu):
        return False
    found.close()
    return True
