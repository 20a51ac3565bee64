"""Tells the dashboard when engine.history changed, cheaply, and only while it is watched.

SQLite's ``PRAGMA data_version`` on a separate read-only connection changes whenever another
connection (the worker's) commits. Reading it once a second costs microseconds and no disk
I/O, so the dashboard re-reads its tables only when something was written, and the timer runs
only while a window that shows history is visible.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 1000  # at least a second: an idle app must not wake the CPU more often


class HistoryWatcher(QObject):
    """Emits ``changed`` on start and after each commit to the database at ``path``."""

    changed = Signal()

    def __init__(self, path: Path, *, interval_ms: int = POLL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(max(POLL_MS, interval_ms))
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        if not self.timer.isActive():
            self.timer.start()
            self._version = None
            self.poll()

    def stop(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        version = self._data_version()
        if version is not None and version != self._version:
            self._version = version
            self.changed.emit()

    def _data_version(self) -> int | None:
        if self._conn is None:
            if not self.path.exists():
                return None
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self._conn.close()
            self._conn = None
            return None

    def close(self) -> None:
        self.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
