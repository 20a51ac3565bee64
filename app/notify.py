"""Desktop notifications: task finished, paid, challenged, slashed, and errors needing action.

:func:`notification_for` decides (a pure function) which engine events deserve one and words
them; :class:`Notifier` shows them as tray messages, and shows errors as a dialog as well
when there is no tray to carry them (a message nobody can see is no message).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon

from app.application import Application
from app.bridge import EngineBridge
from engine.errors import IdlegridError
from engine.events import EngineEvent, Kind

SHOW_MS = 10_000


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# What a NOTICE is about: data["what"] when the engine names it, else the first of these words
# found in its message (the worker's notices say "paid", "challenged", "slashed", ...).
NOTICE_TITLES = {
    "slashed": ("Stake slashed", Severity.ERROR),
    "stake lost": ("Stake lost", Severity.ERROR),
    "challenged": ("Your result was challenged", Severity.WARNING),
    "upheld": ("Dispute won", Severity.INFO),
    "paid": ("Paid", Severity.INFO),
    "withdrew": ("Withdrawn", Severity.INFO),
    "finished": ("Task finished", Severity.INFO),
    "committed": ("Result committed", Severity.INFO),
}


def notice_topic(event: EngineEvent) -> str | None:
    """The NOTICE_TITLES key an event is about, or None."""
    what = event.data.get("what")
    if isinstance(what, str) and what in NOTICE_TITLES:
        return what
    text = event.message.lower()
    return next((word for word in NOTICE_TITLES if word in text), None)


@dataclass(frozen=True)
class Notification:
    title: str
    body: str
    severity: Severity


def notification_for(event: EngineEvent) -> Notification | None:
    """The notification an event deserves, or None (progress, state and log lines do not)."""
    if event.kind is Kind.ERROR:
        hint = str(event.data.get("hint") or "")
        return Notification("idlegrid needs your attention", f"{event.message}\n{hint}".strip(), Severity.ERROR)
    if event.kind is not Kind.NOTICE:
        return None
    topic = notice_topic(event)
    if topic is not None:
        title, severity = NOTICE_TITLES[topic]
        return Notification(title, event.message, severity)
    return Notification(f"Task {event.task_id}" if event.task_id is not None else "idlegrid", event.message,
                        Severity.INFO)


_TRAY_ICONS = {
    Severity.INFO: QSystemTrayIcon.MessageIcon.Information,
    Severity.WARNING: QSystemTrayIcon.MessageIcon.Warning,
    Severity.ERROR: QSystemTrayIcon.MessageIcon.Critical,
}


class Notifier(QObject):
    """Shows notifications through the tray icon (or dialogs for errors without a tray)."""

    def __init__(self, app: Application, bridge: EngineBridge, tray_icon: QSystemTrayIcon | None) -> None:
        super().__init__(app)
        self.app = app
        self.tray_icon = tray_icon
        self.shown: list[Notification] = []  # what the user was told, newest last (the event log shows it too)
        bridge.notice.connect(self.on_event)
        bridge.error.connect(self.on_event)

    def on_event(self, event: EngineEvent) -> None:
        note = notification_for(event)
        if note is None:
            return
        self.shown.append(note)
        del self.shown[:-50]
        tray = self.tray_icon
        if tray is not None and tray.isVisible() and tray.supportsMessages():
            tray.showMessage(note.title, note.body, _TRAY_ICONS[note.severity], SHOW_MS)
        elif event.kind is Kind.ERROR:
            self.app.show_error(IdlegridError(event.message, hint=str(event.data.get("hint") or "") or None))
