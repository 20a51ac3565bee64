"""Whether the machine runs on battery (psutil; injectable for tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil


def on_battery(sensors_battery: Callable[[], Any] = psutil.sensors_battery) -> bool | None:
    """True on battery, False on mains, None when there is no battery or it cannot be read."""
    try:
        battery = sensors_battery()
    except (OSError, RuntimeError, AttributeError):
        return None
    if battery is None or battery.power_plugged is None:
        return None
    return not battery.power_plugged
