"""No usable NVIDIA GPU: the "none" backend, and CPU mode where the user allows it.

CPU mode reports one pseudo-device, the CPU with system RAM, so the policy applies the same
rules (others' utilisation, memory share) to CPU training. Others' utilisation is the
system's CPU use minus that of our own pids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

import psutil

from engine.gpu.monitor import BackendKind, DeviceSnapshot, GpuSnapshot, NoGpu

MIB = 1024 * 1024


class NoGpuBackend:
    """Snapshots with no device and the reason why, so the app can say it."""

    kind: BackendKind = "none"

    def __init__(self, no_gpu: NoGpu, *, clock: Callable[[], float] = time.time) -> None:
        self.no_gpu = no_gpu
        self._clock = clock

    def snapshot(self, own_pids: Collection[int] = ()) -> GpuSnapshot:
        return GpuSnapshot("none", self._clock(), (), self.no_gpu)

    def close(self) -> None:
        pass


class CpuBackend:
    """CPU mode: the CPU as device 0, utilisation and memory from psutil."""

    kind: BackendKind = "cpu"

    def __init__(self, no_gpu: NoGpu, *, clock: Callable[[], float] = time.time) -> None:
        self.no_gpu = no_gpu
        self._clock = clock
        self._procs: dict[int, psutil.Process] = {}
        psutil.cpu_percent(interval=None)  # primes the counter; the first reading is 0

    def _own_cpu_pct(self, own_pids: Collection[int]) -> float:
        """Our pids' CPU use as a share of the whole machine (all cores = 100 %)."""
        total = 0.0
        for pid in own_pids:
            try:
                proc = self._procs.get(pid) or self._procs.setdefault(pid, psutil.Process(pid))
                total += proc.cpu_percent(interval=None)
            except psutil.Error:
                self._procs.pop(pid, None)
        return total / (psutil.cpu_count() or 1)

    def snapshot(self, own_pids: Collection[int] = ()) -> GpuSnapshot:
        util = psutil.cpu_percent(interval=None)
        mem = psutil.virtual_memory()
        device = DeviceSnapshot(
            index=0,
            name=f"CPU ({psutil.cpu_count()} threads)",
            utilization_pct=util,
            foreign_utilization_pct=max(0.0, util - self._own_cpu_pct(own_pids)),
            memory_used_mib=(mem.total - mem.available) // MIB,
            memory_total_mib=mem.total // MIB,
        )
        return GpuSnapshot("cpu", self._clock(), (device,), self.no_gpu)

    def close(self) -> None:
        self._procs.clear()
