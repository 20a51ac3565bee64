"""Snapshot builders for the GPU tests."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.gpu.monitor import DeviceSnapshot, GpuProcess, GpuSnapshot

MONDAY_NOON = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)  # 2024-01-01 is a Monday


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
