"""The event log: one line per engine event worth reading (progress and GPU ticks are not)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.bridge import EngineBridge
from engine.events import EngineEvent, Kind

MAX_LINES = 2000
QUIET_KINDS = frozenset({Kind.PROGRESS, Kind.GPU})


def event_line(event: EngineEvent) -> str:
    when = datetime.fromtimestamp(event.at).strftime("%Y-%m-%d %H:%M:%S")
    task = f" task {event.task_id}" if event.task_id is not None else ""
    line = f"{when}  {event.kind.value:<8}{task}  {event.message}"
    hint = event.data.get("hint") if event.kind is Kind.ERROR else None
    return f"{line} (hint: {hint})" if hint else line


class EventLog(QPlainTextEdit):
    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setObjectName("eventLog")
        self.setAccessibleName("Event log")
        bridge.event.connect(self.add)

    def load(self, events: Iterable[EngineEvent]) -> None:
        """Earlier events (from engine.history), oldest first, before the live ones."""
        for event in sorted(events, key=lambda e: e.at):
            self.add(event)

    def add(self, event: EngineEvent) -> None:
        if event.kind not in QUIET_KINDS:
            self.appendPlainText(event_line(event))
