"""Keeps PySide6 6.12's refcount bug from killing the app ("Fatal Python error: none_dealloc").

The cause of the crash users saw: shiboken6 6.12.0 returns ``None`` from every C++ ``void``
method without taking a reference to it (it assumes the immortal ``None`` of Python 3.12+).
On Python 3.11 each such call (``label.setText``, ``painter.drawLine``...) therefore drops
``None``'s reference count by one; it starts near 16,000, so after some thousands of calls
(pyqtgraph's axis painting made tens of thousands a minute) CPython frees ``None`` and aborts.
:func:`probe_leak` measures the bug; :func:`guard` gives ``None`` the reference count Python
3.12 gives immortal objects, so the drops can never reach zero. Nothing else is touched, and
on a Python or a PySide6 without the bug it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

PROBE_CALLS = 1000
IMMORTAL_REFCOUNT = 1 << 60  # far beyond any count of calls; CPython 3.12 uses 2**32-1 (32 bit field)


def probe_leak(calls: int = PROBE_CALLS) -> int:
    """How many references to None ``calls`` void calls into Qt lost (0: no bug)."""
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        point.setX(1.0)
    return max(0, before - sys.getrefcount(None))


def guard() -> bool:
    """Make None's reference count unreachable by the leak; True when the leak was found and
    guarded (a Python where None is immortal, or a PySide6 without the bug: False)."""
    if sys.version_info >= (3, 12) or probe_leak() == 0:
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is PyObject's first field
    if refcount.value < IMMORTAL_REFCOUNT:
        refcount.value += IMMORTAL_REFCOUNT
    return True
