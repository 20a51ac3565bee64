"""Windows open no larger than the screen they are on (1366x768 at 1.5x scaling is 911x512)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

MARGIN_W, MARGIN_H = 24, 48  # room for the window frame and a panel


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize to ``width`` x ``height``, or to the screen's free area less the frame, whichever
    is smaller; a minimum size the screen cannot hold is lowered to fit too."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:  # the stubs say never; a headless platform without screens has none
        window.resize(width, height)  # type: ignore[unreachable]
        return
    free = screen.availableGeometry()
    w, h = min(width, free.width() - MARGIN_W), min(height, free.height() - MARGIN_H)
    minimum = window.minimumSize()
    window.setMinimumSize(min(minimum.width(), w), min(minimum.height(), h))
    window.resize(w, h)
