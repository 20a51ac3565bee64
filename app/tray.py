"""The tray icon: the engine's state at a glance, and the few controls a user needs daily.

The icon shows one of working, waiting for idle, paused (the reason in the tooltip and the
menu's status line), error, no GPU. The menu: status line, Pause/Resume, Snooze 1 h,
Snooze until tomorrow (or "End snooze" while snoozed), Open dashboard, Settings, Quit. It
holds no state of its own: it draws :class:`app.state.AppState` (the same model as the
dashboard) and calls the host's controls; a click updates the model at once, so the menu
never lags the engine's next tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.application import Application, icon
from app.bridge import EngineBridge
from app.state import Activity, AppState, Now
from engine.errors import ConfigError
from engine.gpu.settings import load_policy_settings

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


ACTIVITY_ICONS = {
    Activity.STARTING: "tray-starting", Activity.EARNING: "tray-working", Activity.IDLE: "tray-waiting",
    Activity.WAITING: "tray-waiting", Activity.PAUSED: "tray-paused", Activity.SNOOZED: "tray-paused",
    Activity.CPU_MODE: "tray-no-gpu", Activity.ERROR: "tray-error", Activity.STOPPED: "tray-paused",
}


class Tray(QObject):
    """The QSystemTrayIcon and its menu, drawing the app's state model."""

    def __init__(self, app: Application, bridge: EngineBridge, controls: Controls,
                 state: AppState | None = None) -> None:
        super().__init__(app)
        self.app = app
        self.controls = controls
        self.state = state or AppState(bridge, self)
        self.icon_name = ACTIVITY_ICONS[Activity.STARTING]
        self.icon = QSystemTrayIcon(icon(self.icon_name), self)
        self.menu = QMenu()
        self.status_action = self._action("starting the engine", None)
        self.status_action.setEnabled(False)
        self.menu.addSeparator()
        self.pause_action = self._action("Pause", self.toggle_pause)
        self.snooze_hour_action = self._action("Snooze 1 h", lambda: self.snooze(SNOOZE_HOUR_S))
        self.snooze_tomorrow_action = self._action(
            "Snooze until tomorrow", lambda: self.snooze(seconds_until_tomorrow(hour=snooze_until_hour())))
        self.end_snooze_action = self._action("End snooze", self.end_snooze)
        self.end_snooze_action.setVisible(False)
        self.menu.addSeparator()
        self.dashboard_action = self._action("Open dashboard", lambda: app.open_window("dashboard"))
        self.settings_action = self._action("Settings…", lambda: app.open_window("settings"))
        self.menu.addSeparator()
        self.quit_action = self._action("Quit", app.quit_requested.emit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.state.changed.connect(self.show_now)
        self.show_now(self.state.now)

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

    # model -> tray -------------------------------------------------------------------------
    @property
    def user_paused(self) -> bool:
        return self.state.now.user_paused

    def show_now(self, now: Now) -> None:
        self.icon_name = ACTIVITY_ICONS[now.activity]
        self.icon.setIcon(icon(self.icon_name))
        self._set_status(now.tray_line, now.headline)
        self.pause_action.setText("Resume" if now.user_paused else "Pause")
        self.pause_action.setVisible(not now.snoozed)
        self.end_snooze_action.setVisible(now.snoozed)
        self.snooze_hour_action.setVisible(not now.snoozed)
        self.snooze_tomorrow_action.setVisible(not now.snoozed)

    def _set_status(self, text: str, tooltip: str | None = None) -> None:
        self.status_action.setText(text)
        self.icon.setToolTip(f"idlegrid: {tooltip or text}")

    # tray -> engine ------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.user_paused:
            self.state.user_resumed()
            self.controls.resume()
        else:
            self.state.user_paused()
            self.controls.pause("paused by you")

    def snooze(self, seconds: float) -> None:
        """Snooze at once: the model says so before the engine's next tick confirms it."""
        until = datetime.now().astimezone() + timedelta(seconds=seconds)
        self.state.user_snoozed(f"{until:%H:%M}" if seconds < 86400 else f"{until:%a %H:%M}")
        self.controls.snooze(seconds)

    def end_snooze(self) -> None:
        self.state.user_resumed()
        self.controls.resume()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.app.open_window("dashboard")
