"""Scrolling over a settings page never edits a value: spin boxes and drop-downs take the wheel
only when focused (issue 18: the wheel changed a value and flipped the preset to Custom)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.settings import SettingsDialog
from app.settings.presets import CUSTOM


def _wheel(widget: QWidget, notches: int = -3) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_an_unfocused_spin_box_changes_nothing(qtbot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.policy_form
    form.advanced_button.click()
    preset_before = form.preset.currentData()
    spin = form.temperature_ceiling_c
    before = spin.value()
    assert preset_before != CUSTOM and spin.focusPolicy() == Qt.FocusPolicy.StrongFocus
    _wheel(spin)
    _wheel(form.run_when)
    assert spin.value() == before and form.preset.currentData() == preset_before
    assert form.run_when.currentData() == "idle"


def test_a_focused_spin_box_still_takes_the_wheel(qtbot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    spin = dialog.policy_form.power_ceiling_w
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    _wheel(spin, notches=3)
    assert spin.value() > 0
