"""The ``[gpu]`` and ``[policy]`` sections of the settings file (strict pydantic models).

``[gpu]`` picks the monitor; ``[policy]`` says when idlegrid may use the GPU. A typo or an
out-of-range value fails with the file, section and key (see ``engine.config.load_section``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from engine.config import load_section, paths, read_settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Desktop compositors and shells hold a graphics context on the GPU all the time; without
# this list "a foreign process uses the GPU" would be true on every Linux desktop.
DEFAULT_ALLOW = [
    "Xorg",
    "Xwayland",
    "gnome-shell",
    "kwin_x11",
    "kwin_wayland",
    "plasmashell",
    "sway",
    "Hyprland",
    "picom",
    "dwm.exe",
    "explorer.exe",
    "WindowServer",
]

_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _window(text: str) -> str:
    m = _WINDOW.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a window like '09:00-17:30' or '22:00-06:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} has an impossible time (hours 00-24, minutes 00-59)")
    if (h1, m1) == (h2, m2):
        raise ValueError(f"{text!r} starts and ends at once; use '00:00-24:00' for all day")
    return text.strip()


Window = Annotated[str, AfterValidator(_window)]


def parse_window(text: str) -> tuple[int, int]:
    """A validated window as (start, end) in minutes after midnight; end may be 1440."""
    h1, m1, h2, m2 = map(int, _WINDOW.match(text).groups())  # type: ignore[union-attr]
    return h1 * 60 + m1, h2 * 60 + m2


class AllowedHours(BaseModel):
    """Per weekday, the windows in which idlegrid may run. A day left out has no limit;
    ``[]`` forbids the day. A window that ends before it starts runs past midnight into
    the next day ("22:00-06:00" on fri covers Friday night to Saturday 06:00)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mon: list[Window] | None = None
    tue: list[Window] | None = None
    wed: list[Window] | None = None
    thu: list[Window] | None = None
    fri: list[Window] | None = None
    sat: list[Window] | None = None
    sun: list[Window] | None = None

    def windows(self, weekday: int) -> list[tuple[int, int]] | None:
        """Windows of day ``weekday`` (0 = Monday) in minutes, or None when unlimited."""
        day = getattr(self, WEEKDAYS[weekday])
        return None if day is None else [parse_window(w) for w in day]


class PolicySettings(BaseModel):
    """``[policy]``: when idlegrid may use the GPU. See "Idle policy" in the README."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_when: Literal["idle", "always"] = "idle"
    idle_minutes: float = Field(5.0, ge=0)
    unknown_idle: Literal["treat_as_idle", "treat_as_active"] = "treat_as_active"
    pause_on_foreign_process: bool = True
    foreign_min_mib: int = Field(64, ge=0)
    foreign_utilization_pct: float = Field(15.0, gt=0, le=100)
    allow_processes: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOW))
    deny_processes: list[str] = Field(default_factory=list)
    hours: AllowedHours = Field(default_factory=AllowedHours)
    pause_on_battery: bool = True
    temperature_ceiling_c: float = Field(83.0, gt=0, le=120)
    temperature_hysteresis_c: float = Field(5.0, ge=0, le=40)
    power_ceiling_w: float = Field(0.0, ge=0, le=5000)  # pause while the GPU draws more; 0: no limit
    max_vram_share: float = Field(0.9, gt=0, le=1)
    resume_after_s: float = Field(60.0, ge=0)
    blip_s: float = Field(10.0, ge=0)
    snooze_until_hour: int = Field(8, ge=0, le=23)


class GpuSettings(BaseModel):
    """``[gpu]``: which monitor to use and on which device to train."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field("auto", pattern=r"^(auto|nvml|cpu|simulated:.+)$")
    allow_cpu: bool = False
    device: int = Field(0, ge=0)

    @property
    def simulated_timeline(self) -> str | None:
        return self.backend.removeprefix("simulated:") if self.backend.startswith("simulated:") else None


def load_policy_settings(path: Path | None = None) -> PolicySettings:
    return load_section("policy", PolicySettings, path)


def load_gpu_settings(path: Path | None = None) -> GpuSettings:
    return load_section("gpu", GpuSettings, path)


def devnet_gpu_settings(path: Path | None = None) -> GpuSettings:
    """``[gpu]`` for the local devnet: CPU mode allowed unless the user chose otherwise.

    The devnet is the demo: it trains on the CPU where there is no GPU. But once the user
    ticked or unticked "Train on the CPU when there is no GPU" (saved as ``allow_cpu``), that
    choice holds here too (issue 18: the unticked box was ignored on the devnet)."""
    settings = load_gpu_settings(path)
    if "allow_cpu" in read_settings(path or paths().settings_file).get("gpu", {}):
        return settings
    return settings.model_copy(update={"allow_cpu": True})
