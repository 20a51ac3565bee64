"""Spin boxes and drop-downs ignore the mouse wheel unless they have the keyboard focus.

Scrolling a settings page with the wheel used to change whichever spin box passed under the
pointer (and flipped the preset to "Custom"). :func:`guard_wheel` gives every spin box and
drop-down under a window focus only by click or Tab (never by wheel), and hands a wheel turn
over an unfocused one to the scroll area around it, so the page scrolls instead.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        area = _scroll_area(watched)
        if area is not None:
            QCoreApplication.sendEvent(area.verticalScrollBar(), event)
        return True  # the value stays as it is


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every spin box and drop-down under ``root`` (call once its children exist)."""
    guard = WheelGuard(root)
    for widget in [*root.findChildren(QAbstractSpinBox), *root.findChildren(QComboBox)]:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(guard)
    return guard


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent
