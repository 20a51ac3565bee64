"""The none_dealloc crash: PySide6 6.12 on Python 3.11 drops references to None and True; the
guard keeps the app alive (each case in its own interpreter: the unguarded one aborts)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

LOOP = """
import sys
from PySide6.QtCore import QObject, QPointF, Signal
{guard}
class Probe(QObject):
    fired = Signal()
point, probe = QPointF(), Probe()
for _ in range(200_000):
    point.setX(1.0)       # a C++ void method: returns None
    probe.fired.emit()    # returns True
print("survived")
"""


def _run(guard: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", LOOP.format(guard=guard)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_the_guard_keeps_200000_void_calls_and_emits_alive() -> None:
    done = _run("from app.none_guard import guard; guard()")
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]


def test_without_the_guard_this_pyside_aborts_with_the_crash_users_saw() -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("None and True are immortal from Python 3.12: the bug cannot bite")
    from app.none_guard import probe_leaks

    if not any(probe_leaks().values()):
        pytest.skip("this PySide6 takes its references properly: nothing to guard")
    done = _run("")
    assert done.returncode != 0
    assert "none_dealloc" in done.stderr or "bool_dealloc" in done.stderr


def test_the_application_guards_itself(qapp) -> None:
    from app.none_guard import IMMORTAL_REFCOUNT, probe_leaks

    if sys.version_info >= (3, 12) or not any(probe_leaks().values()):
        pytest.skip("no leak to guard here")
    for singleton in (None, True, False):  # the Application (pytest-qt's qapp) guarded them at start
        assert sys.getrefcount(singleton) > IMMORTAL_REFCOUNT // 2
