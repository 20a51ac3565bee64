"""The real NVIDIA driver through NVML: what the worker's monitor and idle policy see on a GPU.

Skipped (with the probe's reason) wherever NVML finds no GPU. Some readings are allowed to be
missing by design (fan, power); the ones asserted here are those every datacenter and desktop
NVIDIA GPU reports on Linux.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from engine.gpu.backend import open_backend
from engine.gpu.monitor import DeviceSnapshot, GpuSnapshot
from engine.gpu.nvml import NvmlBackend, probe_nvml
from engine.gpu.policy import Action, Decision, IdlePolicy, Rule
from engine.gpu.settings import GpuSettings, PolicySettings
from tests.device import cuda_missing, nvml_missing

pytestmark = [
    pytest.mark.skipif(nvml_missing() is not None, reason=nvml_missing() or ""),
    pytest.mark.timeout(120),
]

HOLD_MIB = 256


@pytest.fixture
def backend():
    opened = open_backend(GpuSettings())
    yield opened
    opened.close()


@pytest.fixture
def cuda_allocation():
    """This process holds ``HOLD_MIB`` MiB on GPU 0 while the test runs."""
    if cuda_missing() is not None:
        pytest.skip(cuda_missing())
    import torch

    block = torch.empty(HOLD_MIB * 1024 * 1024, dtype=torch.uint8, device="cuda:0")
    block.fill_(1)
    torch.cuda.synchronize()
    yield block
    del block
    torch.cuda.empty_cache()


def describe(snap: GpuSnapshot) -> str:
    lines = [f"backend={snap.backend} taken_at={snap.taken_at:.1f}"]
    for d in snap.devices:
        lines.append(f"  [{d.index}] {d.name} uuid={d.uuid} util={d.utilization_pct}% "
                     f"foreign_util={d.foreign_utilization_pct} mem={d.memory_used_mib}/{d.memory_total_mib} MiB "
                     f"temp={d.temperature_c} C power={d.power_w} W fan={d.fan_pct} error={d.error}")
        for p in d.processes:
            lines.append(f"      pid={p.pid} name={p.name} kind={p.kind} used={p.used_mib} MiB "
                         f"sm={p.utilization_pct} own={p.own}")
    return "\n".join(lines)


def test_probe_and_open_backend_give_nvml(figures) -> None:
    probed = probe_nvml()
    assert isinstance(probed, NvmlBackend), probed
    probed.close()
    opened = open_backend(GpuSettings())
    try:
        assert isinstance(opened, NvmlBackend)
        assert opened.kind == "nvml"
        # allow_cpu must not win over a working GPU
        also = open_backend(GpuSettings(allow_cpu=True))
        assert isinstance(also, NvmlBackend)
        also.close()
    finally:
        opened.close()
    import pynvml

    pynvml.nvmlInit()
    try:
        figures.add("nvml_driver_version", pynvml.nvmlSystemGetDriverVersion())
        figures.add("nvml_device_count", pynvml.nvmlDeviceGetCount())
    finally:
        pynvml.nvmlShutdown()


def test_snapshot_reads_the_device(backend, figures) -> None:
    snap = backend.snapshot()
    print(describe(snap))
    assert snap.backend == "nvml" and snap.no_gpu is None
    assert len(snap.devices) >= 1
    d = snap.device(0)
    assert isinstance(d, DeviceSnapshot)
    assert d.error is None
    assert d.name and d.name != "GPU 0", "nvmlDeviceGetName gave nothing"
    assert d.uuid is not None and d.uuid.startswith("GPU-"), d.uuid
    assert d.memory_total_mib is not None and d.memory_total_mib > 0
    assert d.memory_used_mib is not None and 0 <= d.memory_used_mib <= d.memory_total_mib
    assert d.utilization_pct is not None and 0.0 <= d.utilization_pct <= 100.0
    assert d.temperature_c is not None and 0.0 < d.temperature_c < 120.0
    figures.add("gpu_name", d.name)
    figures.add("gpu_memory_total_mib", d.memory_total_mib)
    figures.add("gpu_temperature_c", d.temperature_c)
    figures.add("gpu_power_w", d.power_w)
    figures.add("gpu_fan_pct", d.fan_pct)


def test_our_cuda_allocation_is_listed_as_our_process(backend, cuda_allocation, figures) -> None:
    me = os.getpid()
    deadline = time.monotonic() + 5.0
    while True:  # the driver may take a moment to list a new context
        snap = backend.snapshot(own_pids={me})
        everyone = [p for d in snap.devices for p in d.processes]
        if any(p.pid == me for p in everyone) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    print(describe(snap))
    figures.add("nvml_process_list", [(p.pid, p.name, p.kind, p.used_mib, p.own) for p in everyone])
    if not everyone:
        d0 = snap.device(0)
        reason = (f"NVML lists no process on any device although pid {me} holds {HOLD_MIB} MiB on GPU 0 "
                  f"(device memory used {d0.memory_used_mib if d0 else '?'} MiB): the driver hides "
                  "processes here (container without the host PID namespace?)")
        figures.add("nvml_process_list_empty", reason)
        pytest.skip(reason)
    mine = [p for p in everyone if p.pid == me]
    assert mine, (f"NVML lists processes {[(p.pid, p.name) for p in everyone]} but not this one (pid {me}); "
                  "if these are host pids the worker cannot tell its own runner from a foreign process here")
    ours = mine[0]
    assert ours.own
    assert ours.kind in ("compute", "compute+graphics")
    assert ours.used_mib is None or ours.used_mib >= HOLD_MIB, ours
    d0 = snap.device(0)
    assert ours not in d0.foreign_processes
    assert d0.own_memory_mib >= HOLD_MIB or ours.used_mib is None
    figures.add("nvml_own_process", f"pid {ours.pid} {ours.name} {ours.kind} {ours.used_mib} MiB")
    # the same snapshot without own_pids counts us as foreign
    other = backend.snapshot()
    assert any(p.pid == me and not p.own for d in other.devices for p in d.processes)


def test_idle_policy_decides_on_a_real_snapshot(backend, figures) -> None:
    snap = backend.snapshot(own_pids={os.getpid()})
    now = datetime.now(UTC)
    for settings, idle in ((PolicySettings(), 3600.0), (PolicySettings(run_when="always"), None),
                           (PolicySettings(), 0.0)):
        policy = IdlePolicy(settings)
        decision = policy.decide(snap, user_idle_s=idle, on_battery=None, now=now, need_mib=512)
        print(f"run_when={settings.run_when} idle={idle}: {decision}")
        assert isinstance(decision, Decision)
        assert isinstance(decision.action, Action) and isinstance(decision.rule, Rule)
        assert decision.reason
        assert Rule.NO_GPU not in decision.blocking
        if Rule.FOREIGN_PROCESS in decision.blocking or Rule.DENY_LIST in decision.blocking:
            assert snap.device(0).foreign_processes, "blocked by a foreign process that the snapshot does not list"
        if decision.action is Action.RUN:
            assert decision.blocking == ()
    budget = IdlePolicy().vram_budget_mib(snap.device(0))
    assert budget is not None and budget > 0
    idle_hour = IdlePolicy().decide(snap, 3600.0, None, now)
    figures.add("policy_decision_idle_1h", f"{idle_hour.action.value}: {idle_hour.reason}")
    figures.add("policy_vram_budget_mib", budget)
