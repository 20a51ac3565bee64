"""On the devnet, CPU mode is the default, but the user's "Train on the CPU" choice holds (issue 18)."""

from __future__ import annotations

from engine.config import save_section
from engine.gpu.settings import GpuSettings, devnet_gpu_settings


def test_the_devnet_trains_on_the_cpu_when_the_user_never_chose() -> None:
    assert devnet_gpu_settings().allow_cpu is True


def test_an_unticked_cpu_fallback_box_is_obeyed_on_the_devnet() -> None:
    save_section("gpu", GpuSettings(allow_cpu=False))
    assert devnet_gpu_settings().allow_cpu is False


def test_a_ticked_box_stays_ticked() -> None:
    save_section("gpu", GpuSettings(allow_cpu=True, device=1))
    assert (devnet_gpu_settings().allow_cpu, devnet_gpu_settings().device) == (True, 1)
