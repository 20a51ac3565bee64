"""The tray icon: the engine's state at a glance, and the few controls a user needs daily.

The icon shows one of working, waiting for idle, paused (the reason in the tooltip and the
menu's status line), error, no GPU. The menu: status line, Pause/Resume, Snooze 1 h,
Snooze until tomorrow, Open dashboard, Settings, Quit. It holds no state of the engine's
own: it follows the bridge's STATE and PROGRESS signals and calls the host's controls.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.application import Application, icon
from app.bridge import EngineBridge, state_of
from app.format import duration, state_line
from engine.errors import ConfigError
from engine.events import EngineEvent, EngineState
from engine.gpu.settings import load_policy_settings

STATE_ICONS = {
    EngineState.STARTING: "tray-starting",
    EngineState.WAITING: "tray-waiting",
    EngineState.WORKING: "tray-working",
    EngineState.PAUSED: "tray-paused",
    EngineState.ERROR: "tray-error",
    EngineState.NO_GPU: "tray-no-gpu",
    EngineState.STOPPED: "tray-paused",
}
SNOOZE_HOUR_S = 3600
TOMORROW_HOUR = 8  # "until tomorrow": this hour, local time, the next day ([policy] snooze_until_hour)


class Controls(Protocol):
    def pause(self, reason: str = ...) -> None: ...
    def resume(self) -> None: ...
    def snooze(self, seconds: float) -> None: ...


def seconds_until_tomorrow(now: datetime | None = None, hour: int = TOMORROW_HOUR) -> float:
    """Seconds from ``now`` to ``hour``:00 local time tomorrow (the "until tomorrow" snooze)."""
    now = now or datetime.now().astimezone()
    target = (now + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (target - now).total_seconds()


def snooze_until_hour() -> int:
    """The hour "until tomorrow" ends at, from the ``[policy]`` settings (a broken file: 8)."""
    try:
        return load_policy_settings().snooze_until_hour
    except ConfigError:
        return TOMORROW_HOUR


class Tray(QObject):
    """The QSystemTrayIcon and its menu, following the bridge."""

    def __init__(self, app: Application, bridge: EngineBridge, controls: Controls) -> None:
        super().__init__(app)
        self.app = app
        self.controls = controls
        self.user_paused = False
        self.icon = QSystemTrayIcon(icon(STATE_ICONS[EngineState.STARTING]), self)
        self.icon_name = STATE_ICONS[EngineState.STARTING]
        self.menu = QMenu()
        self.status_action = self._action("starting the engine", None)
        self.status_action.setEnabled(False)
        self.menu.addSeparator()
        self.pause_action = self._action("Pause", self.toggle_pause)
        self.snooze_hour_action = self._action("Snooze 1 h", lambda: self.snooze(SNOOZE_HOUR_S))
        self.snooze_tomorrow_action = self._action(
            "Snooze until tomorrow", lambda: self.snooze(seconds_until_tomorrow(hour=snooze_until_hour())))
        self.menu.addSeparator()
        self.dashboard_action = self._action("Open dashboard", lambda: app.open_window("dashboard"))
        self.settings_action = self._action("Settings…", lambda: app.open_window("settings"))
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", app.quit_requested.emit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        bridge.state_changed.connect(self.on_state)
        bridge.progress.connect(self.on_progress)
        self.on_state_values(*bridge.state())

    def _action(self, text: str, slot: object) -> QAction:
        action = QAction(text, self.menu)
        if slot is not None:
            action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    def show(self) -> bool:
        """Show the icon; False where the desktop has no tray (the dashboard is shown instead)."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return False
        self.icon.show()
        return self.icon.isVisible()

    def hide(self) -> None:
        self.icon.hide()

    # engine -> tray ------------------------------------------------------------------------
    def on_state(self, event: EngineEvent) -> None:
        self.on_state_values(state_of(event), str(event.data.get("reason", "")))

    def on_state_values(self, state: EngineState, reason: str) -> None:
        self.icon_name = STATE_ICONS[state]
        self.icon.setIcon(icon(self.icon_name))
        self._set_status(state_line(state, reason))
        if state is not EngineState.PAUSED:
            self.user_paused = False
        self.pause_action.setText("Resume" if self.user_paused else "Pause")

    def on_progress(self, event: EngineEvent) -> None:
        d = event.data
        steps = int(d.get("steps") or 0)
        if steps <= 0:
            return
        step = int(d.get("step") or 0)
        eta = d.get("eta_s")
        text = f"Working on task {event.task_id}: {100 * step / steps:.0f}% (step {step:,}/{steps:,})"
        if eta is not None:
            text += f", {duration(float(eta))} left"
        self._set_status(text)

    def _set_status(self, text: str) -> None:
        self.status_action.setText(text)
        self.icon.setToolTip(f"idlegrid: {text}")

    # tray -> engine ------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.user_paused:
            self.user_paused = False
            self.controls.resume()
        else:
            self.user_paused = True
            self.controls.pause("paused by you")
        self.pause_action.setText("Resume" if self.user_paused else "Pause")

    def snooze(self, seconds: float) -> None:
        self.controls.snooze(seconds)
        self._set_status(f"snoozed for {duration(seconds)}")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.app.open_window("dashboard")
