"""Keeps the Search tab current while a search runs, without reading on the GUI thread.

A timer (once a second, only while the tab is on screen; less often when reading is slow,
:func:`next_interval_ms`) starts a poll of
:class:`app.dashboard.search_data.SearchSource` on a plain thread; the outcome comes back
through a queued signal, as the app's other slow reads do (:mod:`app.price_watch`). One poll
runs at a time: a tick or a new selection while one runs is remembered and run after it, so
no outcome is lost and none arrives out of order. A poll costs a directory listing and one
``PRAGMA data_version``; the search is read again only when the coordinator committed.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.dashboard.search_data import Outcome, SearchSource

POLL_MS = 1000
MAX_POLL_MS = 30_000
READ_SHARE = 0.2         # at most this share of a core spent reading a big search that changes all the time


def next_interval_ms(read_s: float) -> int:
    """The pause before the next poll after one that took ``read_s``: a second, longer when
    the reading is slow (10,000 candidates take about a second here), up to 30 s."""
    return int(min(MAX_POLL_MS, max(POLL_MS, read_s * 1000 / READ_SHARE)))


CLOSE_WAIT_S = 5.0       # a read of 10,000 candidates takes about a second


class SearchWatcher(QObject):
    """``outcome(Outcome)`` on the GUI thread after each poll that found something new: a new
    reading of the selected search, or another list of searches."""

    outcome = Signal(object)
    _polled = Signal(object)

    def __init__(self, root: Path, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = SearchSource(root)
        self.wanted: Path | None = None
        self.busy = False
        self._again: bool | None = None    # a poll asked for while one ran (True: forced)
        self._closed = False
        self._listed: list[Path] | None = None
        self._thread: threading.Thread | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self._polled.connect(self._on_polled)

    def start(self) -> None:
        if not self.timer.isActive():
            self.timer.start()
            self.poll(force=True)

    def stop(self) -> None:
        self.timer.stop()

    def follow(self, path: Path | None) -> None:
        """Keep to ``path`` from now on (the search shown first), without reading it again."""
        self.wanted = path

    def select(self, path: Path | None) -> None:
        """Follow ``path`` (None: the most recently changed search) and read it now."""
        if path != self.wanted:
            self.wanted = path
            self.poll(force=True)

    def poll(self, force: bool = False) -> None:
        if self._closed:
            return
        if self.busy:
            self._again = bool(self._again) or force
            return
        self.busy = True
        self._thread = threading.Thread(target=self._read, args=(self.wanted, force), name="idlegrid-search",
                                        daemon=True)
        self._thread.start()

    def _read(self, wanted: Path | None, force: bool) -> None:
        started = time.monotonic()
        try:
            outcome = self.source.poll(wanted, force=force)
        except Exception as e:  # a failure the reader did not translate: one line, the tab goes on
            traceback.print_exc()
            outcome = Outcome([], wanted, error=f"{wanted or 'the search'}: cannot be read ({type(e).__name__}: {e})")
        with contextlib.suppress(RuntimeError):  # the window was closed and deleted meanwhile
            self._polled.emit((wanted, outcome, time.monotonic() - started))

    def _on_polled(self, polled: tuple[Path | None, Outcome, float]) -> None:
        wanted, outcome, seconds = polled
        self.busy = False
        if self._closed:
            return
        self.timer.setInterval(next_interval_ms(seconds))
        if wanted != self.wanted:              # another search was chosen meanwhile: read that one
            self._again = True
        elif not outcome.unchanged or outcome.searches != self._listed:
            self._listed = outcome.searches
            self.outcome.emit(outcome)
        if self._again is not None:
            force, self._again = self._again, None
            self.poll(force=force)

    def close(self) -> None:
        """Stop polling and wait (a few seconds at most) for a read in flight: a thread that
        signals into a watcher Qt has deleted on quit can bring the process down."""
        self._closed = True
        self.stop()
        self.source.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=CLOSE_WAIT_S)
