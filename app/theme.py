"""Looks: Qt's Fusion style in the system's light or dark scheme, with a visible focus frame.

Fusion draws a focus frame in the highlight colour on whatever has the keyboard focus (the
platform default under a bare X server drew none), and it switches to its dark palette when the
desktop says the scheme is dark; :func:`apply` follows later changes of the scheme too.
``IDLEGRID_COLOR_SCHEME=dark|light`` forces one (the screenshots use it).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

SCHEME_ENV = "IDLEGRID_COLOR_SCHEME"
FORCED = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}


def apply(app: QApplication) -> None:
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    forced = FORCED.get(os.environ.get(SCHEME_ENV, "").lower())
    if forced is not None:
        app.styleHints().setColorScheme(forced)
    scheme = forced or app.styleHints().colorScheme()
    _use(app, scheme)
    app.styleHints().colorSchemeChanged.connect(lambda new: _use(app, new))


def _use(app: QApplication, scheme: Qt.ColorScheme) -> None:
    """Fusion's palette for the scheme (a platform without a theme reports none: built here)."""
    app.setPalette(dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette())


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, "#202124"), (roles.WindowText, "#e8eaed"), (roles.Base, "#17181a"),
                         (roles.AlternateBase, "#26272b"), (roles.Text, "#e8eaed"), (roles.Button, "#2b2c30"),
                         (roles.ButtonText, "#e8eaed"), (roles.Highlight, "#4c8df6"),
                         (roles.HighlightedText, "#ffffff"), (roles.ToolTipBase, "#2b2c30"),
                         (roles.ToolTipText, "#e8eaed"), (roles.PlaceholderText, "#9aa0a6"), (roles.Link, "#8ab4f8"),
                         (roles.Mid, "#3c4043"), (roles.Dark, "#111214"), (roles.Light, "#3c4043")):
        p.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f8388"))
    return p


def use_scheme(app: QApplication, *, dark: bool) -> None:
    """Switch the scheme now (the screenshots show both)."""
    _use(app, Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)


def is_dark(app: QApplication) -> bool:
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128
