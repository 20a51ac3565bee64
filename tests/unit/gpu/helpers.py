"""Snapshot builders for the GPU tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pynvml
import pytest

from engine.gpu.monitor import DeviceSnapshot, GpuProcess, GpuSnapshot


def _nvidia_driver_loads() -> bool:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


# The "no GPU" path of the real library can only be seen where there is no driver (CI, this
# project's machines); on a GPU machine tests/device checks the real NVML path instead.
without_nvidia_driver = pytest.mark.skipif(_nvidia_driver_loads(), reason="an NVIDIA driver is loaded here")

MONDAY_NOON = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)  # 2024-01-01 is a Monday


def proc(name: str, mib: int | None = 500, *, pid: int = 4242, own: bool = False) -> GpuProcess:
    return GpuProcess(pid=pid, name=name, kind="graphics", used_mib=mib, own=own)


def snap(
    *procs: GpuProcess,
    util: float | None = 0.0,
    temp: float | None = 50.0,
    used: int = 1000,
    total: int = 8000,
) -> GpuSnapshot:
    device = DeviceSnapshot(
        index=0,
        name="Fake GPU",
        utilization_pct=util,
        foreign_utilization_pct=util,
        memory_used_mib=used,
        memory_total_mib=total,
        temperature_c=temp,
        processes=tuple(procs),
    )
    return GpuSnapshot("simulated", 0.0, (device,))
