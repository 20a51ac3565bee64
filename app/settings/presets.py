"""Named idle-policy presets offered by the settings dialog and the first-run wizard (no Qt).

A preset only sets the rules that make it what it is; every other rule keeps its default, so
the safety rules (foreign processes, temperature, battery) stay on whatever the user picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.gpu.settings import WEEKDAYS, AllowedHours, PolicySettings


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    description: str
    changes: dict[str, Any]

    def settings(self) -> PolicySettings:
        return PolicySettings.model_validate({**PolicySettings().model_dump(), **self.changes})

    def matches(self, settings: PolicySettings) -> bool:
        return self.settings() == settings


PRESETS: tuple[Preset, ...] = (
    Preset("away", "When I'm away",
           "Runs after 5 minutes without keyboard or mouse input; stops the moment you are back or a game "
           "or another program uses the GPU.", {}),
    Preset("nights", "Nights only",
           "Runs between 23:00 and 07:00 while you are away (10 minutes idle).",
           {"idle_minutes": 10.0,
            "hours": AllowedHours(**{day: ["23:00-07:00"] for day in WEEKDAYS}).model_dump()}),
    Preset("always", "Always (dedicated machine)",
           "Runs whenever no other program needs the GPU, even while someone uses the computer.",
           {"run_when": "always"}),
)

CUSTOM = "custom"


def preset(key: str) -> Preset:
    """The preset named ``key`` (KeyError lists the known ones)."""
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(f"no preset {key!r}; known: {', '.join(p.key for p in PRESETS)}")


def preset_of(settings: PolicySettings) -> str:
    """The key of the preset ``settings`` equal, or ``custom``."""
    return next((p.key for p in PRESETS if p.matches(settings)), CUSTOM)
