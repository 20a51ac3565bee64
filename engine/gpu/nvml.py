"""``NvmlBackend``: NVIDIA GPUs through nvidia-ml-py (module ``pynvml``).

Every NVML call is guarded: an optional reading the driver refuses (fan on a laptop, power
on some boards) becomes ``None``; only a failed ``nvmlInit`` or device count means "no GPU",
reported as a :class:`NoGpu` with a reason a user can act on. The ``pynvml`` module and the
pid-to-name lookup are injectable, so the field mapping is tested without a GPU.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Collection
from types import ModuleType
from typing import Any

import psutil

from engine.gpu.monitor import BackendKind, DeviceSnapshot, GpuProcess, GpuSnapshot, NoGpu

MIB = 1024 * 1024
_LIB = "nvml.dll" if sys.platform.startswith("win") else "libnvidia-ml.so.1"


def process_name(pid: int) -> str:
    """The process's name from psutil, or ``pid N`` when it is gone or hidden from us."""
    try:
        return psutil.Process(pid).name()
    except (psutil.Error, OSError):
        return f"pid {pid}"


def _no_gpu_from_error(nvml: Any, error: Exception) -> NoGpu:
    def is_(name: str) -> bool:
        cls = getattr(nvml, name, None)
        return isinstance(cls, type) and isinstance(error, cls)

    if is_("NVMLError_LibraryNotFound"):
        return NoGpu(
            f"no NVIDIA driver found ({_LIB} not loadable)",
            "install the NVIDIA driver, or allow CPU mode in settings ([gpu] allow_cpu = true)",
        )
    if is_("NVMLError_DriverNotLoaded"):
        return NoGpu("the NVIDIA driver is installed but not loaded", "reboot, or load the nvidia module")
    if is_("NVMLError_LibRmVersionMismatch"):
        return NoGpu("the NVIDIA driver and its library differ in version", "reboot after the driver update")
    if is_("NVMLError_NoPermission"):
        return NoGpu("no permission to query the NVIDIA driver", "run as a user allowed to use the GPU")
    return NoGpu(f"the NVIDIA driver failed: {error}", "check `nvidia-smi`")


def probe_nvml(
    nvml: ModuleType | Any | None = None,
    *,
    name_of: Callable[[int], str] = process_name,
    clock: Callable[[], float] = time.time,
) -> NvmlBackend | NoGpu:
    """An initialised :class:`NvmlBackend`, or :class:`NoGpu` saying why there is none."""
    if nvml is None:
        try:
            import pynvml
        except ImportError:
            return NoGpu("nvidia-ml-py is not installed", "pip install nvidia-ml-py")
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as e:
        return _no_gpu_from_error(nvml, e)
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError as e:
        nvml.nvmlShutdown()
        return _no_gpu_from_error(nvml, e)
    if count == 0:
        nvml.nvmlShutdown()
        return NoGpu("the NVIDIA driver is loaded but sees no GPU", "check `nvidia-smi`")
    return NvmlBackend(nvml, count, name_of=name_of, clock=clock)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class NvmlBackend:
    """Snapshots of every NVIDIA device; build it with :func:`probe_nvml`."""

    kind: BackendKind = "nvml"

    def __init__(
        self,
        nvml: Any,
        count: int,
        *,
        name_of: Callable[[int], str] = process_name,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._nvml = nvml
        self._count = count
        self._name_of = name_of
        self._clock = clock
        self._closed = False

    def _get(self, fn: str, *args: Any) -> Any:
        """One NVML reading, or ``None`` when the driver refuses it."""
        try:
            return getattr(self._nvml, fn)(*args)
        except self._nvml.NVMLError:
            return None

    def snapshot(self, own_pids: Collection[int] = ()) -> GpuSnapshot:
        own = frozenset(own_pids)
        devices = tuple(self._device(i, own) for i in range(self._count))
        return GpuSnapshot("nvml", self._clock(), devices)

    def _device(self, index: int, own: frozenset[int]) -> DeviceSnapshot:
        try:
            handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
        except self._nvml.NVMLError as e:
            return DeviceSnapshot(index, f"GPU {index}", error=str(e))
        name = self._get("nvmlDeviceGetName", handle)
        uuid = self._get("nvmlDeviceGetUUID", handle)
        util = self._get("nvmlDeviceGetUtilizationRates", handle)
        mem = self._get("nvmlDeviceGetMemoryInfo", handle)
        temp = self._get("nvmlDeviceGetTemperature", handle, self._nvml.NVML_TEMPERATURE_GPU)
        power_mw = self._get("nvmlDeviceGetPowerUsage", handle)
        fan = self._get("nvmlDeviceGetFanSpeed", handle)
        processes = self._processes(handle, own)
        device_util = None if util is None else float(util.gpu)
        return DeviceSnapshot(
            index=index,
            name=_text(name) if name is not None else f"GPU {index}",
            uuid=_text(uuid) if uuid is not None else None,
            utilization_pct=device_util,
            foreign_utilization_pct=_foreign_utilization(device_util, processes),
            memory_used_mib=None if mem is None else int(mem.used) // MIB,
            memory_total_mib=None if mem is None else int(mem.total) // MIB,
            temperature_c=None if temp is None else float(temp),
            power_w=None if power_mw is None else power_mw / 1000.0,
            fan_pct=None if fan is None else float(fan),
            processes=processes,
        )

    def _processes(self, handle: Any, own: frozenset[int]) -> tuple[GpuProcess, ...]:
        found: dict[int, tuple[str, int | None]] = {}
        for kind, fn in (
            ("compute", "nvmlDeviceGetComputeRunningProcesses"),
            ("graphics", "nvmlDeviceGetGraphicsRunningProcesses"),
        ):
            for p in self._get(fn, handle) or ():
                used = None if p.usedGpuMemory is None else int(p.usedGpuMemory) // MIB
                if p.pid in found:
                    _, before = found[p.pid]
                    used = max((u for u in (before, used) if u is not None), default=None)
                    kind_now = "compute+graphics"
                else:
                    kind_now = kind
                found[p.pid] = (kind_now, used)
        sm = self._process_utilization(handle)
        return tuple(
            GpuProcess(
                pid=pid,
                name=self._name_of(pid),
                kind=kind,  # type: ignore[arg-type]
                used_mib=used,
                utilization_pct=None if sm is None else float(sm.get(pid, 0)),
                own=pid in own,
            )
            for pid, (kind, used) in sorted(found.items())
        )

    def _process_utilization(self, handle: Any) -> dict[int, int] | None:
        """SM utilisation per pid over the last few seconds; ``{}`` when nobody used the GPU."""
        since_us = int((self._clock() - 5.0) * 1_000_000)
        try:
            samples = self._nvml.nvmlDeviceGetProcessUtilization(handle, since_us)
        except self._nvml.NVMLError as e:
            not_found = getattr(self._nvml, "NVMLError_NotFound", None)
            return {} if not_found is not None and isinstance(e, not_found) else None
        except AttributeError:
            return None
        by_pid: dict[int, int] = {}
        for s in samples:
            by_pid[s.pid] = max(by_pid.get(s.pid, 0), int(s.smUtil))
        return by_pid

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()


def _foreign_utilization(device_util: float | None, processes: tuple[GpuProcess, ...]) -> float | None:
    """Others' share of the GPU: per-process samples when the driver gives them, else the
    device's utilisation when none of ours runs there, else unknown."""
    if processes and all(p.utilization_pct is not None for p in processes):
        return min(100.0, sum(p.utilization_pct or 0.0 for p in processes if not p.own))
    if not any(p.own for p in processes):
        return device_util
    return None
