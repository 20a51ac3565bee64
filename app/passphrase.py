"""Asking for a keystore passphrase: once to unlock a file, twice (must match) to protect one."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

MIN_LENGTH = 8


class PassphraseDialog(QDialog):
    """A passphrase, typed hidden. ``confirm``: asked twice for a new file, at least
    :data:`MIN_LENGTH` characters, and the two must match before OK is accepted."""

    def __init__(self, title: str, prompt: str, *, confirm: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("passphraseDialog")
        self.confirm = confirm
        self.first = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName="passphrase")
        self.second = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName="passphraseAgain")
        self.problem = QLabel(objectName="passphraseProblem", wordWrap=True)
        self.problem.setStyleSheet("color: #b3261e;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form = QFormLayout(self)
        form.addRow(QLabel(prompt, wordWrap=True))
        form.addRow("Passphrase", self.first)
        if confirm:
            form.addRow("Repeat it", self.second)
        form.addRow(self.problem)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

    def passphrase(self) -> str:
        return self.first.text()

    def check(self) -> str | None:
        """What is wrong with the passphrase typed so far, or None."""
        text = self.first.text()
        if not text:
            return "type a passphrase"
        if self.confirm and len(text) < MIN_LENGTH:
            return f"use at least {MIN_LENGTH} characters (a few words is good)"
        if self.confirm and text != self.second.text():
            return "the two passphrases differ"
        return None

    def accept(self) -> None:
        problem = self.check()
        if problem:
            self.problem.setText(problem)
            return
        super().accept()


def ask_passphrase(parent: QWidget | None, title: str, prompt: str, *, confirm: bool) -> str | None:
    """Run the dialog; the passphrase, or None when cancelled."""
    dialog = PassphraseDialog(title, prompt, confirm=confirm, parent=parent)
    return dialog.passphrase() if dialog.exec() == QDialog.DialogCode.Accepted else None
