"""What a GPU monitor reports: the ``GpuBackend`` protocol and its snapshot dataclasses.

A snapshot is a plain, frozen value: the policy and the app read it, never the backend.
Every reading a driver may refuse (fan on a laptop, power, temperature) is ``None`` when
unknown, so "unknown" is never confused with zero.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

ProcessKind = Literal["compute", "graphics", "compute+graphics"]
BackendKind = Literal["nvml", "cpu", "simulated", "none"]


@dataclass(frozen=True)
class GpuProcess:
    """One process holding a context on a device. ``own`` is true for our runner's pids."""

    pid: int
    name: str
    kind: ProcessKind
    used_mib: int | None = None  # None: the driver does not say (Windows WDDM)
    utilization_pct: float | None = None  # this process's share of the SM time, when known
    own: bool = False


@dataclass(frozen=True)
class DeviceSnapshot:
    """One device at one moment. In CPU mode the one "device" is the CPU and system RAM."""

    index: int
    name: str
    uuid: str | None = None
    utilization_pct: float | None = None  # the whole device, ours included
    foreign_utilization_pct: float | None = None  # everyone but us; None: cannot be told apart
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    fan_pct: float | None = None
    processes: tuple[GpuProcess, ...] = ()
    error: str | None = None  # the device answered nothing (e.g. "GPU is lost")

    @property
    def memory_free_mib(self) -> int | None:
        if self.memory_used_mib is None or self.memory_total_mib is None:
            return None
        return max(0, self.memory_total_mib - self.memory_used_mib)

    @property
    def own_memory_mib(self) -> int:
        return sum(p.used_mib or 0 for p in self.processes if p.own)

    @property
    def foreign_processes(self) -> tuple[GpuProcess, ...]:
        return tuple(p for p in self.processes if not p.own)


@dataclass(frozen=True)
class NoGpu:
    """Why there is no usable NVIDIA GPU, in words a user can act on."""

    reason: str
    hint: str | None = None


@dataclass(frozen=True)
class GpuSnapshot:
    """All devices of one backend at time ``taken_at`` (the backend's clock, seconds)."""

    backend: BackendKind
    taken_at: float
    devices: tuple[DeviceSnapshot, ...] = ()
    no_gpu: NoGpu | None = None  # set for "none" and "cpu": why no NVIDIA GPU is used

    def device(self, index: int) -> DeviceSnapshot | None:
        return next((d for d in self.devices if d.index == index), None)


class GpuBackend(Protocol):
    """Anything that can report the GPUs: NVML, CPU mode, "no GPU", a simulation."""

    kind: BackendKind

    def snapshot(self, own_pids: Collection[int] = ()) -> GpuSnapshot:
        """The devices now; processes whose pid is in ``own_pids`` are marked ``own``."""
        ...

    def close(self) -> None:
        """Release the driver; the backend is unusable afterwards."""
        ...
