"""Battery detection, the [gpu]/[policy] settings, and which backend open_backend picks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.config import paths, save_section
from engine.errors import ConfigError
from engine.gpu.backend import open_backend
from engine.gpu.errors import TimelineError
from engine.gpu.nogpu import CpuBackend, NoGpuBackend
from engine.gpu.nvml import NvmlBackend
from engine.gpu.power import on_battery
from engine.gpu.settings import GpuSettings, PolicySettings, load_gpu_settings, load_policy_settings
from engine.gpu.simulated import ManualClock, SimulatedBackend

from .helpers import without_nvidia_driver
from .test_nvml import FakeNvml
from .test_simulated import EVENING


# -- battery -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("battery", "expected"),
    [
        (SimpleNamespace(percent=50, power_plugged=False), True),
        (SimpleNamespace(percent=50, power_plugged=True), False),
        (SimpleNamespace(percent=50, power_plugged=None), None),
        (None, None),
    ],
)
def test_on_battery(battery, expected):
    assert on_battery(lambda: battery) is expected


def test_on_battery_survives_a_failing_sensor():
    def broken():
        raise OSError("no sysfs")

    assert on_battery(broken) is None


# -- settings ------------------------------------------------------------------------------
def write_settings(text: str) -> Path:
    f = paths().ensure().settings_file
    f.write_text(text)
    return f


def test_defaults_when_the_file_has_no_section():
    assert load_policy_settings() == PolicySettings()
    assert load_gpu_settings() == GpuSettings()
    assert "Xorg" in PolicySettings().allow_processes


def test_policy_settings_round_trip():
    s = PolicySettings(idle_minutes=10, deny_processes=["obs*"], hours={"fri": ["22:00-06:00"], "sun": []})
    save_section("policy", s)
    assert load_policy_settings() == s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy]\nidle_minuts = 3\n", "[policy.idle_minuts] Extra inputs are not permitted"),
        (
            "[policy]\nunknown_idle = 'maybe'\n",
            "[policy.unknown_idle] Input should be 'treat_as_idle' or 'treat_as_active'",
        ),
        ("[policy]\nmax_vram_share = 1.5\n", "[policy.max_vram_share] Input should be less than or equal to 1"),
        (
            "[policy.hours]\nmon = ['9-17']\n",
            "[policy.hours.mon.0] Value error, '9-17' is not a window like '09:00-17:30'",
        ),
        (
            "[policy.hours]\nmon = ['09:00-25:00']\n",
            "[policy.hours.mon.0] Value error, '09:00-25:00' has an impossible time",
        ),
        (
            "[policy.hours]\nmon = ['08:00-08:00']\n",
            "[policy.hours.mon.0] Value error, '08:00-08:00' starts and ends at once",
        ),
        ("[policy.hours]\nmonday = []\n", "[policy.hours.monday] Extra inputs are not permitted"),
    ],
)
def test_bad_policy_settings_name_the_key(text, message):
    f = write_settings(text)
    with pytest.raises(ConfigError) as e:
        load_policy_settings()
    assert str(e.value).startswith(f"settings file {f}: {message}")


def test_bad_gpu_backend_setting_names_the_key():
    write_settings("[gpu]\nbackend = 'cuda'\n")
    with pytest.raises(ConfigError, match=r"\[gpu.backend\] String should match pattern"):
        load_gpu_settings()


# -- open_backend ----------------------------------------------------------------------------
@without_nvidia_driver
def test_auto_on_this_machine_is_no_gpu_with_the_reason():
    backend = open_backend(GpuSettings())
    assert isinstance(backend, NoGpuBackend)
    snap = backend.snapshot()
    assert (snap.backend, snap.devices) == ("none", ())
    assert snap.no_gpu.reason == "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"


@without_nvidia_driver
def test_auto_falls_back_to_cpu_mode_only_when_allowed():
    backend = open_backend(GpuSettings(allow_cpu=True))
    assert isinstance(backend, CpuBackend)
    dev = backend.snapshot(own_pids={12345678}).devices[0]
    assert dev.name.startswith("CPU")
    assert dev.memory_total_mib > 0 and 0 <= dev.foreign_utilization_pct <= 100
    assert backend.snapshot().no_gpu.reason.startswith("no NVIDIA driver found")


def test_auto_uses_nvml_when_it_works():
    backend = open_backend(GpuSettings(allow_cpu=True), nvml=FakeNvml())
    assert isinstance(backend, NvmlBackend)


def test_cpu_backend_when_asked():
    assert isinstance(open_backend(GpuSettings(backend="cpu"), nvml=FakeNvml()), CpuBackend)


def test_simulated_only_when_named_and_relative_to_the_config_dir():
    target = paths().ensure().config_dir / "evening.toml"
    target.write_text(EVENING.read_text())
    clock = ManualClock()
    backend = open_backend(GpuSettings(backend="simulated:evening.toml"), clock=clock)
    assert isinstance(backend, SimulatedBackend)
    clock.advance(130)
    assert backend.snapshot().devices[0].processes[0].name == "steam_game"


def test_a_missing_simulated_timeline_is_a_clear_error():
    with pytest.raises(TimelineError, match=r"nope.toml: file not found"):
        open_backend(GpuSettings(backend="simulated:nope.toml"))
