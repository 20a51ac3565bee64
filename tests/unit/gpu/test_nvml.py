"""NvmlBackend against a fake pynvml (field mapping, per-field errors) and the real no-GPU path."""

from __future__ import annotations

from types import SimpleNamespace

import pynvml
import pytest

from engine.gpu.monitor import NoGpu
from engine.gpu.nvml import NvmlBackend, probe_nvml, process_name

from .helpers import without_nvidia_driver

MIB = 1024 * 1024


class FakeNvml:
    """The slice of pynvml the backend uses; ``fail`` maps a function name to the error it raises."""

    class NVMLError(Exception):
        pass

    class NVMLError_LibraryNotFound(NVMLError):
        pass

    class NVMLError_DriverNotLoaded(NVMLError):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    class NVMLError_NotFound(NVMLError):
        pass

    class NVMLError_GpuIsLost(NVMLError):
        def __str__(self) -> str:
            return "GPU is lost"

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, count: int = 1, fail: dict[str, type[Exception]] | None = None) -> None:
        self.count = count
        self.fail = fail or {}
        self.shutdown_calls = 0
        p = SimpleNamespace
        self.compute = [p(pid=100, usedGpuMemory=4000 * MIB), p(pid=200, usedGpuMemory=None)]
        self.graphics = [p(pid=300, usedGpuMemory=300 * MIB), p(pid=100, usedGpuMemory=10 * MIB)]
        self.samples = [p(pid=100, smUtil=70), p(pid=300, smUtil=5), p(pid=300, smUtil=9)]

    def _call(self, name: str, value):
        if name in self.fail:
            raise self.fail[name]()
        return value

    def nvmlInit(self):
        return self._call("nvmlInit", None)

    def nvmlShutdown(self):
        self.shutdown_calls += 1

    def nvmlDeviceGetCount(self):
        return self._call("nvmlDeviceGetCount", self.count)

    def nvmlDeviceGetHandleByIndex(self, i):
        return self._call("nvmlDeviceGetHandleByIndex", f"h{i}")

    def nvmlDeviceGetName(self, h):
        return self._call("nvmlDeviceGetName", b"NVIDIA GeForce RTX 3060")

    def nvmlDeviceGetUUID(self, h):
        return self._call("nvmlDeviceGetUUID", "GPU-1234")

    def nvmlDeviceGetUtilizationRates(self, h):
        return self._call("nvmlDeviceGetUtilizationRates", SimpleNamespace(gpu=87, memory=40))

    def nvmlDeviceGetMemoryInfo(self, h):
        return self._call(
            "nvmlDeviceGetMemoryInfo", SimpleNamespace(total=12288 * MIB, used=4500 * MIB, free=7788 * MIB)
        )

    def nvmlDeviceGetTemperature(self, h, sensor):
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._call("nvmlDeviceGetTemperature", 71)

    def nvmlDeviceGetPowerUsage(self, h):
        return self._call("nvmlDeviceGetPowerUsage", 151_500)

    def nvmlDeviceGetFanSpeed(self, h):
        return self._call("nvmlDeviceGetFanSpeed", 44)

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return self._call("nvmlDeviceGetComputeRunningProcesses", self.compute)

    def nvmlDeviceGetGraphicsRunningProcesses(self, h):
        return self._call("nvmlDeviceGetGraphicsRunningProcesses", self.graphics)

    def nvmlDeviceGetProcessUtilization(self, h, since_us):
        return self._call("nvmlDeviceGetProcessUtilization", self.samples)


NAMES = {100: "python", 200: "blender", 300: "steam_game"}


def backend(fake: FakeNvml) -> NvmlBackend:
    opened = probe_nvml(fake, name_of=lambda pid: NAMES.get(pid, f"pid {pid}"), clock=lambda: 1000.0)
    assert isinstance(opened, NvmlBackend)
    return opened


@without_nvidia_driver
def test_real_pynvml_without_a_gpu_gives_no_gpu_with_the_reason():
    with pytest.raises(pynvml.NVMLError_LibraryNotFound):
        pynvml.nvmlInit()  # this machine has no NVIDIA driver: the test is about that path
    found = probe_nvml()
    assert isinstance(found, NoGpu)
    assert found.reason == "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"
    assert "allow_cpu" in (found.hint or "")


def test_device_fields_are_mapped():
    dev = backend(FakeNvml()).snapshot(own_pids={100}).devices[0]
    assert (dev.index, dev.name, dev.uuid) == (0, "NVIDIA GeForce RTX 3060", "GPU-1234")
    assert (dev.utilization_pct, dev.memory_used_mib, dev.memory_total_mib, dev.memory_free_mib) == (
        87.0,
        4500,
        12288,
        7788,
    )
    assert (dev.temperature_c, dev.power_w, dev.fan_pct) == (71.0, 151.5, 44.0)


def test_processes_are_merged_named_and_told_apart_from_ours():
    dev = backend(FakeNvml()).snapshot(own_pids={100}).devices[0]
    by_pid = {p.pid: p for p in dev.processes}
    assert set(by_pid) == {100, 200, 300}
    ours = by_pid[100]
    assert (ours.kind, ours.used_mib, ours.own, ours.name) == ("compute+graphics", 4000, True, "python")
    assert (by_pid[200].used_mib, by_pid[200].own, by_pid[200].name) == (None, False, "blender")
    assert (by_pid[300].kind, by_pid[300].used_mib, by_pid[300].utilization_pct) == ("graphics", 300, 9.0)
    assert [p.pid for p in dev.foreign_processes] == [200, 300]
    assert dev.own_memory_mib == 4000
    assert dev.foreign_utilization_pct == 9.0  # from per-process samples, ours left out


@pytest.mark.parametrize(
    ("failing", "field"),
    [
        ("nvmlDeviceGetFanSpeed", "fan_pct"),
        ("nvmlDeviceGetPowerUsage", "power_w"),
        ("nvmlDeviceGetTemperature", "temperature_c"),
        ("nvmlDeviceGetUtilizationRates", "utilization_pct"),
        ("nvmlDeviceGetMemoryInfo", "memory_total_mib"),
        ("nvmlDeviceGetUUID", "uuid"),
    ],
)
def test_a_refused_optional_field_is_none_and_the_rest_still_read(failing, field):
    dev = backend(FakeNvml(fail={failing: FakeNvml.NVMLError_NotSupported})).snapshot().devices[0]
    assert getattr(dev, field) is None
    assert dev.name == "NVIDIA GeForce RTX 3060"
    assert len(dev.processes) == 3


def test_refused_process_lists_give_no_processes_and_device_utilization():
    fail = {
        "nvmlDeviceGetComputeRunningProcesses": FakeNvml.NVMLError_NotSupported,
        "nvmlDeviceGetGraphicsRunningProcesses": FakeNvml.NVMLError_NotSupported,
    }
    dev = backend(FakeNvml(fail=fail)).snapshot().devices[0]
    assert dev.processes == ()
    assert dev.foreign_utilization_pct == 87.0


def test_without_process_samples_our_presence_makes_others_utilization_unknown():
    fake = FakeNvml(fail={"nvmlDeviceGetProcessUtilization": FakeNvml.NVMLError_NotSupported})
    with_us = backend(fake).snapshot(own_pids={100}).devices[0]
    without_us = backend(fake).snapshot(own_pids=()).devices[0]
    assert with_us.processes[0].utilization_pct is None
    assert with_us.foreign_utilization_pct is None
    assert without_us.foreign_utilization_pct == 87.0


def test_no_recent_samples_means_nobody_computed():
    fake = FakeNvml(fail={"nvmlDeviceGetProcessUtilization": FakeNvml.NVMLError_NotFound})
    dev = backend(fake).snapshot(own_pids={100}).devices[0]
    assert dev.foreign_utilization_pct == 0.0


def test_a_lost_device_is_reported_not_raised():
    dev = backend(FakeNvml(fail={"nvmlDeviceGetHandleByIndex": FakeNvml.NVMLError_GpuIsLost})).snapshot().devices[0]
    assert dev.error == "GPU is lost"


@pytest.mark.parametrize(
    ("fail", "count", "reason"),
    [
        ({"nvmlInit": FakeNvml.NVMLError_LibraryNotFound}, 1, "no NVIDIA driver found"),
        ({"nvmlInit": FakeNvml.NVMLError_DriverNotLoaded}, 1, "the NVIDIA driver is installed but not loaded"),
        ({"nvmlDeviceGetCount": FakeNvml.NVMLError}, 1, "the NVIDIA driver failed"),
        ({}, 0, "the NVIDIA driver is loaded but sees no GPU"),
    ],
)
def test_probe_failures_become_no_gpu(fail, count, reason):
    found = probe_nvml(FakeNvml(count=count, fail=fail))
    assert isinstance(found, NoGpu)
    assert found.reason.startswith(reason)


def test_close_shuts_nvml_down_once():
    fake = FakeNvml()
    b = backend(fake)
    b.close()
    b.close()
    assert fake.shutdown_calls == 1


def test_process_name_of_a_vanished_pid():
    assert process_name(2**22 + 12345) == f"pid {2**22 + 12345}"
