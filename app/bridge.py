"""The one seam between the engine's threads and the GUI thread.

The engine reports through a plain :data:`engine.events.Listener` callback, called from its own
threads. :class:`EngineBridge.listener` is that callback: it hands each event to the GUI thread
through a queued signal, where the bridge re-emits it on a signal per kind. Windows subscribe to
those signals and never touch engine threads. Progress events are batched: they wait in a
bounded queue (the newest ``PROGRESS_BACKLOG`` kept) and one wake-up of the GUI thread delivers
all that arrived meanwhile, so a fast trainer cannot flood the event loop or grow memory.
"""

from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, Qt, Signal

from engine.errors import IdlegridError
from engine.events import EngineEvent, EngineState, Kind

PROGRESS_BACKLOG = 512


class EngineBridge(QObject):
    """Re-emits engine events as Qt signals in the GUI thread; remembers the latest of each."""

    # every EngineEvent, in order. The name shadows QObject.event() for Python callers (Qt's own
    # event dispatch goes through the C++ virtual); kept since the panels and probes subscribe to it.
    event = Signal(object)  # type: ignore[assignment]
    state_changed = Signal(object)  # Kind.STATE: data["state"] is an EngineState value, data["reason"]
    progress = Signal(object)       # Kind.PROGRESS (the newest PROGRESS_BACKLOG when the GUI lags)
    job = Signal(object)            # Kind.JOB
    earnings = Signal(object)       # Kind.EARNINGS
    notice = Signal(object)         # Kind.NOTICE
    error = Signal(object)          # Kind.ERROR
    gpu = Signal(object)            # Kind.GPU
    log = Signal(object)            # Kind.LOG

    _incoming = Signal(object)
    _progress_ready = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending_progress: deque[EngineEvent] = deque(maxlen=PROGRESS_BACKLOG)
        self.last: dict[Kind, EngineEvent] = {}
        self._by_kind = {
            Kind.STATE: self.state_changed, Kind.PROGRESS: self.progress, Kind.JOB: self.job,
            Kind.EARNINGS: self.earnings, Kind.NOTICE: self.notice, Kind.ERROR: self.error,
            Kind.GPU: self.gpu, Kind.LOG: self.log,
        }
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._progress_ready.connect(self._dispatch_progress, Qt.ConnectionType.QueuedConnection)

    def listener(self, event: EngineEvent) -> None:
        """The engine's Listener: safe to call from any thread, returns at once."""
        if event.kind is Kind.PROGRESS:
            with self._lock:
                waiting = bool(self._pending_progress)
                self._pending_progress.append(event)
            if not waiting:
                self._progress_ready.emit()
            return
        self._incoming.emit(event)

    def report(self, error: IdlegridError, *, task_id: int | None = None) -> None:
        """Turn an engine error caught by the app into an ERROR event (so tray, log and
        notifications show it like any other); callable from any thread."""
        self.listener(EngineEvent(Kind.ERROR, error.message, task_id, {"hint": error.hint or ""}))

    def state(self) -> tuple[EngineState, str]:
        """The engine's latest state and reason (STARTING until it says otherwise)."""
        event = self.last.get(Kind.STATE)
        if event is None:
            return EngineState.STARTING, "starting the engine"
        return state_of(event), str(event.data.get("reason", ""))

    def _dispatch_progress(self) -> None:
        with self._lock:
            events = list(self._pending_progress)
            self._pending_progress.clear()
        for event in events:
            self._dispatch(event)

    def _dispatch(self, event: EngineEvent) -> None:
        self.last[event.kind] = event
        self._by_kind[event.kind].emit(event)
        self.event.emit(event)


def state_of(event: EngineEvent) -> EngineState:
    """The EngineState a STATE event carries (ERROR for a value this app does not know)."""
    try:
        return EngineState(event.data.get("state"))
    except ValueError:
        return EngineState.ERROR
