"""The wallet window: the address (copy, QR code), its balance on the chain, where the key lives,
and export / import of keystore files.

Everything goes through :mod:`engine.wallet.identity`, the same functions as ``idlegrid wallet``,
so the app and the CLI can never disagree about the wallet. The key itself never reaches this
window: it shows the address and the keyring backend in use, never the key. Questions to the
user (file names, passphrases, "replace?") go through a :class:`Prompts` object, so the window's
logic is the same whether a person answers the dialogs or a test does. The balance is read in a
background thread: the GUI never waits on a node.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.format import chain_words, eth, keyring_words
from app.passphrase import ask_passphrase
from app.qr import address_uri, qr_pixmap
from engine.chain.devnet import network_settings
from engine.chain.rpc import RetryPolicy, connect, translated
from engine.errors import IdlegridError
from engine.wallet import identity, keystore, store
from engine.wallet.errors import (
    KeyringError,
    NoWalletError,
    WalletError,
    WalletExistsError,
)

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress


@dataclass(frozen=True)
class Balance:
    """The account on the configured chain: ether held, and wei the market owes it."""

    chain_id: int
    wei: int
    credits: int | None = None


BalanceReader = Callable[[str], Balance]


def read_balance(address: str, *, timeout: float = 5.0) -> Balance:
    """``address``'s balance on the configured network (the local devnet when none is set)."""
    network = network_settings()
    w3 = connect(network.rpc_url, expected_chain_id=network.chain_id,
                 policy=RetryPolicy(attempts=2, first_delay=0.2, request_timeout=timeout))
    with translated("eth_getBalance"):
        wei = w3.eth.get_balance(cast("ChecksumAddress", address))  # checked by the wallet
        chain_id = w3.eth.chain_id
    credits = None
    if network.market_address is not None:
        from engine.network.client import market_at

        try:
            credits = market_at(w3, network.market_address).credits(address)
        except IdlegridError:
            credits = None  # no market there (yet): the balance alone is still right
    return Balance(chain_id, wei, credits)


class Prompts:
    """The questions the wallet window asks; this one asks them with real dialogs."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def export_path(self) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(
            self.parent,
            "Export the wallet",
            str(Path.home() / "idlegrid-wallet.json"),
            "Keystore files (*.json);;All files (*)",
        )
        return Path(name) if name else None

    def import_path(self) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self.parent, "Import a wallet", str(Path.home()),
                                              "Keystore files (*.json);;All files (*)")
        return Path(name) if name else None

    def new_passphrase(self) -> str | None:
        return ask_passphrase(self.parent, "Protect the export",
                              "Choose a passphrase for the keystore file. Without it the file is useless; "
                              "with it, anyone holding the file controls the funds.", confirm=True)

    def passphrase(self, path: Path) -> str | None:
        return ask_passphrase(self.parent, "Unlock keystore", f"Passphrase of {path}:", confirm=False)

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self.parent, "idlegrid wallet", question)
        return answer == QMessageBox.StandardButton.Yes


class _BalanceAnswer(QObject):
    done = Signal(str, object)    # (address, Balance)
    failed = Signal(str, object)  # (address, IdlegridError)


class WalletWindow(QWidget):
    """Shows and manages the wallet. ``wallet_changed`` carries the new address ('' when none)."""

    wallet_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, balance: BalanceReader | None = read_balance,
                 prompts: Prompts | None = None, scrypt_n: int = keystore.STANDARD_SCRYPT_N) -> None:
        super().__init__(parent)
        self.setWindowTitle("idlegrid wallet")
        self.setObjectName("walletWindow")
        self.prompts = prompts or Prompts(self)
        self.scrypt_n = scrypt_n
        self._read_balance = balance
        self._answer = _BalanceAnswer(self)
        self.address: str | None = None
        self.last_error: IdlegridError | None = None

        self.address_label = QLabel(objectName="address")
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.address_label.setStyleSheet("font-family: monospace;")
        self.copy_button = QPushButton("Copy", objectName="copyAddress")
        self.qr_label = QLabel(objectName="qrCode", alignment=Qt.AlignmentFlag.AlignCenter)
        self.balance_label = QLabel(objectName="balance", wordWrap=True)
        self.location_label = QLabel(objectName="keyLocation", wordWrap=True)
        self.backend_label = QLabel(objectName="keyringBackend", wordWrap=True)
        self.status_label = QLabel(objectName="walletStatus", wordWrap=True)
        self.error_label = QLabel(objectName="walletError", wordWrap=True)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.create_button = QPushButton("Create a new wallet", objectName="createWallet")
        self.export_button = QPushButton("Export keystore…", objectName="exportWallet")
        self.import_button = QPushButton("Import keystore…", objectName="importWallet")
        self.refresh_button = QPushButton("Refresh", objectName="refreshBalance")
        self.import_to_keyring = QCheckBox("Keep imported keys in the OS keyring (else: keep using the file)",
                                           objectName="importToKeyring")

        address_row = QHBoxLayout()
        address_row.addWidget(self.address_label, 1)
        address_row.addWidget(self.copy_button)
        info = QFormLayout()
        info.addRow("Address", address_row)
        info.addRow("Balance", self.balance_label)
        info.addRow("Key", self.location_label)
        info.addRow("Keyring", self.backend_label)
        buttons = QHBoxLayout()
        for b in (self.create_button, self.export_button, self.import_button, self.refresh_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.qr_label)
        layout.addLayout(info)
        layout.addWidget(self.import_to_keyring)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

        self.copy_button.clicked.connect(self.copy_address)
        self.create_button.clicked.connect(self.create_wallet)
        self.export_button.clicked.connect(self.export_wallet)
        self.import_button.clicked.connect(self.import_wallet)
        self.refresh_button.clicked.connect(self.refresh_balance)
        self._answer.done.connect(self._balance_read)
        self._answer.failed.connect(self._balance_failed)
        self.refresh()

    # showing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the wallet settings and the keyring again, and fetch the balance."""
        self._clear_error()
        backend = self._keyring_backend()
        self.import_to_keyring.setChecked(backend is not None)
        self.import_to_keyring.setEnabled(backend is not None)
        try:
            wallet = identity.current()
        except NoWalletError:
            self._show_address(None)
            self.location_label.setText("no wallet yet: create one, or import a keystore file")
            return
        except IdlegridError as e:
            self._show_address(None)
            self._show_error(e)
            return
        self._show_address(wallet.address)
        try:
            self.location_label.setText(identity.info().location)
        except IdlegridError as e:
            self.location_label.setText("the key is missing from where the settings say it is")
            self._show_error(e, dialog=False)
        self.refresh_balance()

    def _keyring_backend(self) -> str | None:
        try:
            text = store.describe()
        except KeyringError as e:
            self.backend_label.setText(f"not usable: {e.message}")
            self.backend_label.setToolTip(e.hint or "")
            return None
        self.backend_label.setText(keyring_words(text))
        self.backend_label.setToolTip(text)  # the technical name, for whoever needs it
        return text

    def _show_address(self, address: str | None) -> None:
        self.address = address
        self.address_label.setText(address or "–")
        self.copy_button.setEnabled(address is not None)
        self.export_button.setEnabled(address is not None)
        self.refresh_button.setEnabled(address is not None and self._read_balance is not None)
        self.create_button.setVisible(address is None)
        if address is None:
            self.qr_label.clear()
            self.balance_label.setText("–")
        else:
            self.qr_label.setPixmap(qr_pixmap(address_uri(address)))
            self.qr_label.setToolTip(address_uri(address))

    def copy_address(self) -> None:
        if self.address:
            QGuiApplication.clipboard().setText(self.address)

    # balance -----------------------------------------------------------------------------
    def refresh_balance(self) -> None:
        """Ask the chain for the balance, off the GUI thread."""
        if self.address is None or self._read_balance is None:
            return
        self.balance_label.setText("reading the chain …")
        reader, address, answer = self._read_balance, self.address, self._answer

        def run() -> None:
            try:
                result: tuple[object, object] = (answer.done, reader(address))
            except IdlegridError as e:
                result = (answer.failed, e)
            except Exception as e:  # an untranslated library error: still a message
                result = (answer.failed, IdlegridError(f"reading the balance failed: {type(e).__name__}: {e}"))
            with contextlib.suppress(RuntimeError):  # the window was closed and deleted meanwhile
                result[0].emit(address, result[1])  # type: ignore[attr-defined]

        threading.Thread(target=run, name="idlegrid-balance", daemon=True).start()

    def _balance_read(self, address: str, balance: Balance) -> None:
        if address != self.address:
            return
        text = f"{eth(balance.wei)} on {chain_words(balance.chain_id)}"
        if balance.credits:
            text += f"; {eth(balance.credits)} waiting to be withdrawn"
        self.balance_label.setText(text)

    def _balance_failed(self, address: str, error: IdlegridError) -> None:
        if address == self.address:
            self.balance_label.setText(f"unknown: {error.message}")
            self.balance_label.setToolTip(error.hint or "")

    # actions -----------------------------------------------------------------------------
    def create_wallet(self) -> str | None:
        """A new key in the OS keyring (only when there is no wallet yet)."""
        return self._act(lambda: identity.create().address)

    def export_wallet(self) -> Path | None:
        """Write the key to a keystore file the user names, under a new passphrase."""
        path = self.prompts.export_path()
        if path is None:
            return None
        passphrase = self.prompts.new_passphrase()
        if passphrase is None:
            return None

        def unlock_with(wallet_file: Path) -> Callable[[], str]:
            def ask() -> str:
                answer = self.prompts.passphrase(wallet_file)
                if answer is None:
                    raise WalletError("export cancelled: the key is in an encrypted file whose passphrase is needed",
                                      hint=f"export again and type the passphrase of {wallet_file}")
                return answer
            return ask

        def run() -> Path:
            wallet_file = identity.current().keystore
            unlock = unlock_with(wallet_file) if wallet_file else None
            return identity.export(path, passphrase, unlock=unlock, scrypt_n=self.scrypt_n)

        done = self._act(run, changes=False)
        if done is not None:
            self.status_label.setText(f"exported to {done}; keep the file and its passphrase safe: together "
                                      "they give full control of the funds")
        return done

    def import_wallet(self) -> str | None:
        """Make a keystore file's key the wallet: copied into the keyring, or used in place."""
        path = self.prompts.import_path()
        if path is None:
            return None
        passphrase = self.prompts.passphrase(path)
        if passphrase is None:
            return None
        to_keyring = self.import_to_keyring.isChecked()

        def bring(replace: bool) -> str:
            if to_keyring:
                return identity.keep_in_keyring(keystore.decrypt(path, passphrase), replace=replace).address
            return identity.use_keystore(path, passphrase, replace=replace).address

        try:
            return self._act(lambda: bring(False), reraise=(WalletExistsError,))
        except WalletExistsError as e:
            question = (f"{e.message}.\n\nReplace it? Export the current wallet first if it holds funds: "
                        "its key is removed from the keyring.")
            return self._act(lambda: bring(True)) if self.prompts.confirm(question) else None

    def _act(self, action: Callable[[], object], *, changes: bool = True,
             reraise: tuple[type[Exception], ...] = ()) -> Any:
        """Run a wallet action; an error is shown (not raised), success refreshes the window."""
        self._clear_error()
        self.status_label.clear()
        try:
            result = action()
        except reraise:
            raise
        except IdlegridError as e:
            self._show_error(e)
            return None
        if changes:
            self.refresh()
            self.wallet_changed.emit(self.address or "")
        return result

    # feedback ----------------------------------------------------------------------------
    def _clear_error(self) -> None:
        self.last_error = None
        self.error_label.clear()

    def _show_error(self, error: IdlegridError, *, dialog: bool = True) -> None:
        self.last_error = error
        self.error_label.setText(error.message + (f"\n{error.hint}" if error.hint else ""))
        app = QApplication.instance()
        if dialog and app is not None and hasattr(app, "show_error"):
            app.show_error(error, self)


__all__ = ["Balance", "BalanceReader", "Prompts", "WalletWindow", "read_balance"]
