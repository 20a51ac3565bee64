"""The idlegrid desktop app: a PySide6 tray app and dashboard that observe the engine.

Everything that imports Qt lives under this package; the engine never imports it. Importing
``app`` itself is cheap and Qt-free, so ``idlegrid app`` can say what to install when PySide6
is missing instead of failing with a traceback.
"""

from __future__ import annotations

from app.errors import QtMissingError

QT_PACKAGES = ("PySide6", "segno")


def require_qt() -> None:
    """Fail with an install hint, not an ImportError, when the GUI libraries are missing."""
    import importlib

    for name in QT_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise QtMissingError(name, str(e)) from None
