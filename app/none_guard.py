"""Keeps PySide6 6.12's refcount bug from killing the app ("Fatal Python error: none_dealloc").

The cause of the crash users saw: shiboken6 6.12.0 hands Python the singletons ``None``,
``True`` and ``False`` without taking a reference to them (it assumes the immortal singletons
of Python 3.12+). On Python 3.11 every C++ ``void`` method called from Python (``setText``,
``drawLine``...) drops ``None``'s reference count by one, and every ``signal.emit(...)`` drops
that of ``True`` (its result). ``None`` starts near 16,000 references, so after some thousands
of calls CPython frees it and aborts: pyqtgraph's axis painting made tens of thousands a minute
(the crash 4 s after Resume); the bridge's emits do it more slowly ("bool_dealloc" after about
20 minutes of jobs in ``bench.soak`` before this guard).

:func:`probe_leaks` measures the bug; :func:`guard` gives the leaking singletons the reference
count Python 3.12 gives immortal objects, so the drops can never reach zero. Nothing else is
touched, and on a Python or a PySide6 without the bug it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

PROBE_CALLS = 10  # few: True has only some hundreds of references in a fresh process
IMMORTAL_REFCOUNT = 1 << 60  # far beyond any count of calls


def probe_leaks(calls: int = PROBE_CALLS) -> dict[str, int]:
    """References lost by ``calls`` void calls (None) and ``calls`` emits (True); 0: no bug.

    Each leaking call of the probe costs a reference too, so keep ``calls`` small."""
    from PySide6.QtCore import QObject, QPointF, Signal

    class _Probe(QObject):
        fired = Signal()

    point, probe = QPointF(), _Probe()
    before = sys.getrefcount(None)
    for _ in range(calls):
        point.setX(1.0)
    lost_none = before - sys.getrefcount(None)
    before = sys.getrefcount(True)
    for _ in range(calls):
        probe.fired.emit()
    lost_true = before - sys.getrefcount(True)
    return {"None": max(0, lost_none), "True": max(0, lost_true)}


def _immortalise(obj: Any) -> None:
    refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is PyObject's first field
    if refcount.value < IMMORTAL_REFCOUNT:
        refcount.value += IMMORTAL_REFCOUNT


def guard() -> bool:
    """Make None, True and False unreachable by the leak; True when a leak was found and guarded
    (a Python whose singletons are immortal, or a PySide6 without the bug: False)."""
    if sys.version_info >= (3, 12) or not any(probe_leaks().values()):
        return False
    for singleton in (None, True, False):
        _immortalise(singleton)
    return True
