"""Keyboard and screen readers: Ctrl+1..5 switch tabs, Ctrl+P pauses, every control has a name."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)

from app.dashboard import DashboardWindow
from app.settings import SettingsDialog
from app.state import AppState
from app.tray import Tray
from tests.gui.tray_probe import Recorder

CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit)


def _internal(w: QWidget) -> bool:
    """Qt's own parts of a control (a spin box's line edit, a tab bar's scroll arrows...)."""
    parent = w.parentWidget()
    return w.objectName().startswith("qt_") or isinstance(parent, (QAbstractSpinBox, QComboBox, QLineEdit, QTabBar))


def _unnamed(root: QWidget) -> list[str]:
    """Controls a screen reader could not name: no accessible name, no text, no label buddy."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    out = []
    for cls in CONTROLS:
        for w in root.findChildren(cls):
            if _internal(w):
                continue
            text = w.text() if isinstance(w, QAbstractButton) else ""
            if not (w.accessibleName() or text.replace("&", "").strip() or id(w) in buddies):
                out.append(f"{type(w).__name__} {w.objectName()!r}")
    return out


def test_ctrl_digits_switch_tabs_and_ctrl_p_pauses_and_resumes(qtbot, qapp, bridge) -> None:
    state = AppState(bridge)
    controls = Recorder()
    tray = Tray(qapp, bridge, controls, state)
    window = DashboardWindow(qapp, bridge, state=state, gpu_backend=None, toggle_pause=tray.toggle_pause)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    for key, index in ((Qt.Key.Key_3, 2), (Qt.Key.Key_5, 4), (Qt.Key.Key_2, 1), (Qt.Key.Key_4, 3), (Qt.Key.Key_1, 0)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert controls.calls == ["pause: paused by you"] and window.headline.text() == "Paused: by you"
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert controls.calls == ["pause: paused by you", "resume"]


def test_every_control_of_the_dashboard_and_settings_has_a_name(qtbot, qapp, bridge) -> None:
    window = DashboardWindow(qapp, bridge, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    assert _unnamed(window) == []
    assert _unnamed(dialog) == []
