"""Withdraw asks first (destination, amount, fee) in a real dialog, sends only on yes, and shows a
receipt with the full, copyable transaction hash."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.dashboard.earnings_panel import EarningsPanel, confirm_dialog
from engine.events import EngineEvent, Kind

TX = "0x" + "5c" * 32
WALLET = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def _panel(qtbot, bridge, emit, sent: list[str]) -> EarningsPanel:
    def gas(done, failed) -> None:
        QTimer.singleShot(0, lambda: done(42_000 * 10**9))

    def withdraw(done, failed) -> None:
        sent.append("withdraw")
        QTimer.singleShot(0, lambda: done(TX))

    panel = EarningsPanel(bridge, withdraw=withdraw, gas_estimate=gas, destination=lambda: WALLET,
                          confirm=confirm_dialog)
    qtbot.addWidget(panel)
    emit(EngineEvent(Kind.EARNINGS, "earnings", None, {"pending": 0, "claimable": 3 * 10**16, "withdrawn": 0}))
    qtbot.waitUntil(lambda: "fee" in panel.withdraw_button.text())
    return panel


def _answer(button_text: str, seen: list[str]) -> None:
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox), box
    seen.append(f"{box.text()}\n{box.informativeText()}")
    next(b for b in box.buttons() if b.text().replace("&", "") == button_text).click()


def test_cancel_sends_nothing(qtbot, bridge, emit) -> None:
    sent: list[str] = []
    seen: list[str] = []
    panel = _panel(qtbot, bridge, emit, sent)
    QTimer.singleShot(50, lambda: _answer("Cancel", seen))
    panel.withdraw_button.click()
    assert sent == [] and panel.status.text() == "Withdrawal cancelled: nothing was sent."
    assert seen == [(f"Send 0.03 ETH to your wallet?\nTo: {WALLET}\nAmount: 0.03 ETH\n"
                     "Fee (gas, paid from the wallet): about 0.000042 ETH")]


def test_yes_sends_once_and_the_receipt_shows_the_whole_hash(qtbot, bridge, emit) -> None:
    sent: list[str] = []
    seen: list[str] = []
    panel = _panel(qtbot, bridge, emit, sent)
    QTimer.singleShot(50, lambda: _answer("Withdraw", seen))
    panel.withdraw_button.click()
    qtbot.waitUntil(lambda: panel.receipt is not None)
    assert sent == ["withdraw"] and len(seen) == 1
    receipt = panel.receipt
    assert receipt.hash.text() == TX and receipt.hash.isReadOnly()
    assert receipt.hash.width() >= receipt.hash.fontMetrics().horizontalAdvance(TX)  # not cut off
    copy = next(b for b in receipt.findChildren(type(panel.withdraw_button)) if b.text() == "Copy hash")
    copy.click()
    assert QApplication.clipboard().text() == TX
    assert panel.status.text() == f"Withdrawn: transaction {TX}"
