"""Fan-out of the engine's events to the service's subscribers (the app, ``idlegrid status -f``).

The worker calls :meth:`EventHub.listener` from its threads. Each subscriber has a bounded
queue: a client that stops reading loses its subscription (the queue overflows, it is told
why and closed) instead of growing the daemon's memory. A new subscriber first gets the
latest event of each lasting kind (state, job, progress, earnings, GPU), so the app shows
the current job at once after it (re)connects. While the engine is in its ERROR state, the
error that put it there is replayed too: a client that connects after the failure (the app
that just spawned the service, or one started later) must still show what to fix.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from engine.events import EngineEvent, EngineState, Kind

QUEUE_LIMIT = 2048
REPLAYED = (Kind.STATE, Kind.EARNINGS, Kind.GPU, Kind.JOB, Kind.PROGRESS)
Message = dict[str, Any]


class Overflow(Exception):
    """A subscriber fell too far behind."""


class EventHub:
    """Keeps the latest event of each kind and the subscribers' queues."""

    def __init__(self, status: Callable[[], Message]) -> None:
        self._status = status
        self._lock = threading.Lock()
        self._queues: list[queue.Queue[Message | None]] = []
        self.last: dict[Kind, EngineEvent] = {}

    def listener(self, event: EngineEvent) -> None:
        """The engine's Listener: any thread, returns at once."""
        with self._lock:
            self.last[event.kind] = event
        self.publish({"event": event.to_json()})
        if event.kind in (Kind.STATE, Kind.JOB):
            self.publish({"status": self._status()})

    def publish(self, message: Message) -> None:
        with self._lock:
            queues = list(self._queues)
        for q in queues:
            try:
                q.put_nowait(message)
            except queue.Full:
                self._drop(q)

    def subscribe(self) -> tuple[queue.Queue[Message | None], list[Message]]:
        """A new queue, and what to send first (the latest events, then the status)."""
        q: queue.Queue[Message | None] = queue.Queue(QUEUE_LIMIT)
        with self._lock:
            kinds = (Kind.ERROR, *REPLAYED) if self._in_error() else REPLAYED
            replay = sorted((self.last[k] for k in kinds if k in self.last), key=lambda e: e.at)
            self._queues.append(q)
        return q, [*({"event": e.to_json()} for e in replay), {"status": self._status()}]

    def _in_error(self) -> bool:
        """The latest state is ERROR, and an error event came no later than it (under the lock)."""
        state, error = self.last.get(Kind.STATE), self.last.get(Kind.ERROR)
        return (state is not None and error is not None and state.data.get("state") == EngineState.ERROR.value
                and error.at <= state.at)

    def unsubscribe(self, q: queue.Queue[Message | None]) -> None:
        with self._lock:
            if q in self._queues:
                self._queues.remove(q)

    def close(self) -> None:
        """End every subscription (the service stops)."""
        with self._lock:
            queues, self._queues = self._queues, []
        for q in queues:
            _put_end(q)

    def _drop(self, q: queue.Queue[Message | None]) -> None:
        self.unsubscribe(q)
        _put_end(q)


def _put_end(q: queue.Queue[Message | None]) -> None:
    """Make room for, then put, the end marker."""
    while True:
        try:
            q.put_nowait(None)
            return
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                q.get_nowait()
