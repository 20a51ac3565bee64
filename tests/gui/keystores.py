"""Keystore values shared by the wallet and wizard tests (plain constants, not fixtures), and
the one way tests answer the passphrase dialog."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.passphrase import PassphraseDialog

CHEAP_SCRYPT_N = 2**4  # keystore files in tests: the real format, negligible KDF cost
PASSPHRASE = "correct horse battery staple"


def type_passphrase() -> None:
    """Answer the passphrase dialog with ``PASSPHRASE`` once it is up: on a busy machine it opens
    late, so look again every 100 ms instead of assuming when it appears."""
    dialog = QApplication.activeModalWidget()
    if isinstance(dialog, PassphraseDialog):
        dialog.first.setText(PASSPHRASE)
        dialog.accept()
    else:
        QTimer.singleShot(100, type_passphrase)
