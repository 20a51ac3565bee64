"""Desktop notifications: task finished, paid, challenged, slashed, and errors needing action.

:func:`notification_for` decides (a pure function) which engine events deserve one and words
them; :class:`Notifier` shows them as tray messages, and shows errors as a dialog as well
when there is no tray to carry them (a message nobody can see is no message).

Payments do not get a balloon each (jobs of a few seconds paid one every 6-15 s): they add up
in a "Paid today" digest, shown at most once per :data:`DIGEST_S` (the first one at once),
with the rewards only (the returned stake is the user's own money, not pay).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from enum import Enum

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QSystemTrayIcon

from app.application import Application
from app.bridge import EngineBridge
from app.format import eth
from engine.errors import IdlegridError
from engine.events import EngineEvent, Kind

SHOW_MS = 10_000
DIGEST_S = 1800.0


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
    "void": ("Dispute void: stake returned", Severity.WARNING),
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
        self.paid_day = date.today()
        self.paid_count = 0
        self.paid_wei = 0
        self.last_digest: float | None = None
        self.digest_timer = QTimer(self)
        self.digest_timer.setSingleShot(True)
        self.digest_timer.timeout.connect(self.show_digest)

    def on_event(self, event: EngineEvent) -> None:
        note = notification_for(event)
        if note is None:
            return
        if event.kind is Kind.NOTICE and notice_topic(event) == "paid":
            self.add_payment(int(event.data.get("reward") or 0))
            return
        self.show(note, event)

    def add_payment(self, reward_wei: int) -> None:
        """Count a payment into today's digest; show the digest now or when DIGEST_S has passed."""
        if date.today() != self.paid_day:
            self.paid_day, self.paid_count, self.paid_wei = date.today(), 0, 0
        self.paid_count += 1
        self.paid_wei += reward_wei
        wait = 0.0 if self.last_digest is None else self.last_digest + DIGEST_S - time.monotonic()
        if wait <= 0:
            self.show_digest()
        elif not self.digest_timer.isActive():
            self.digest_timer.start(int(wait * 1000))

    def digest(self) -> Notification:
        jobs = "1 job" if self.paid_count == 1 else f"{self.paid_count} jobs"
        return Notification("Paid today", f"{eth(self.paid_wei)} for {jobs} today", Severity.INFO)

    def show_digest(self) -> None:
        self.last_digest = time.monotonic()
        self.show(self.digest(), None)

    def show(self, note: Notification, event: EngineEvent | None) -> None:
        self.shown.append(note)
        del self.shown[:-50]
        tray = self.tray_icon
        if tray is not None and tray.isVisible() and tray.supportsMessages():
            tray.showMessage(note.title, note.body, _TRAY_ICONS[note.severity], SHOW_MS)
        elif event is not None and event.kind is Kind.ERROR:
            self.app.show_error(IdlegridError(event.message, hint=str(event.data.get("hint") or "") or None))
