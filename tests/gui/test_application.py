"""The Application: one instance per data folder, windows opened by name, errors as dialogs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox

from app.application import Application, instance_key
from engine.errors import IdlegridError
from tests.conftest import REPO


def _second_launch() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_second_launch_brings_the_first_ones_dashboard_forward_and_exits(qtbot, qapp: Application) -> None:
    assert qapp.claim_single_instance()
    with qtbot.waitSignal(qapp.activate_requested, timeout=30_000):
        second = _second_launch()
    _out, err = second.communicate(timeout=30)
    assert second.returncode == 0
    assert "idlegrid is already running: its dashboard was brought forward" in err


def test_the_instance_key_differs_per_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    first = instance_key()
    monkeypatch.setenv("IDLEGRID_HOME", str(tmp_path / "other"))
    assert instance_key() != first


def test_after_release_a_new_instance_may_claim(qapp: Application) -> None:
    assert qapp.claim_single_instance()
    qapp.release_single_instance()
    assert qapp.claim_single_instance()


def test_open_window_builds_once_and_shows(qapp: Application) -> None:
    built: list[QLabel] = []
    qapp.register_window("probe", lambda: built.append(QLabel("probe")) or built[-1])
    first = qapp.open_window("probe")
    assert qapp.open_window("probe") is first and len(built) == 1 and first.isVisible()


def test_a_window_whose_factory_fails_shows_the_error_and_hint(qtbot, qapp: Application) -> None:
    def broken() -> QLabel:
        raise IdlegridError("the settings file is broken", hint="fix line 3")

    qapp.register_window("broken", broken)
    assert qapp.open_window("broken") is None
    box = next(w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert (box.text(), box.informativeText()) == ("the settings file is broken", "fix line 3")


def test_an_unknown_window_name_is_a_programming_error(qapp: Application) -> None:
    with pytest.raises(KeyError, match="no window registered as 'nope'"):
        qapp.open_window("nope")
