"""The network form: the local devnet, or a network given by RPC URL, market address and blob URL.

``network()`` reads the form through :class:`NetworkSettings` (the engine's own model), so a
malformed URL or address is refused with the field's name. "Test connection" runs
:func:`check_network` in a background thread (the GUI never waits on a node) and reports back
through :class:`NetworkCheck`'s signals.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from pydantic import ValidationError
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.settings.errors import SettingsInputError, from_validation
from app.settings.network_check import SECTION, NetworkReport, check_network
from engine.chain.settings import NetworkSettings
from engine.errors import IdlegridError

LABELS = {
    "rpc_url": "RPC URL",
    "market_address": "Market address",
    "blob_url": "Blob server URL",
    "chain_id": "Chain id",
    "confirmations": "Confirmations",
}
Checker = Callable[[NetworkSettings], NetworkReport]


class NetworkCheck(QObject):
    """Runs one network check off the GUI thread; ``done``/``failed`` arrive on the GUI thread."""

    done = Signal(object, object)     # (NetworkSettings, NetworkReport)
    failed = Signal(object, object)   # (NetworkSettings, IdlegridError)

    def __init__(self, checker: Checker = check_network, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.checker = checker
        self.running = False

    def start(self, network: NetworkSettings) -> None:
        self.running = True
        threading.Thread(target=self._run, args=(network,), name="idlegrid-network-check", daemon=True).start()

    def _run(self, network: NetworkSettings) -> None:
        try:
            report = self.checker(network)
        except IdlegridError as e:
            self._answer(self.failed, network, e)
        except Exception as e:  # a library error the check did not translate: still a message, not a crash
            self._answer(self.failed, network, IdlegridError(f"checking the network failed: {type(e).__name__}: {e}",
                                                             hint="check the three fields, then try again"))
        else:
            self._answer(self.done, network, report)

    def _answer(self, signal: object, *args: object) -> None:
        self.running = False
        with contextlib.suppress(RuntimeError):  # the window was closed and deleted while the check ran
            signal.emit(*args)  # type: ignore[attr-defined]


class NetworkForm(QWidget):
    """Picks the devnet or a custom network; ``network()`` is what to save."""

    changed = Signal()

    def __init__(self, checker: Checker = check_network, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.devnet = QRadioButton("Local devnet: a private test chain on this computer (no real money)",
                                   objectName="devnet")
        self.custom = QRadioButton("A network:", objectName="custom")
        group = QButtonGroup(self)
        group.addButton(self.devnet)
        group.addButton(self.custom)
        self.rpc_url = QLineEdit(placeholderText="https://rpc.example.org", objectName="rpc_url")
        self.market_address = QLineEdit(placeholderText="0x… (the TaskMarket contract)", objectName="market_address")
        self.blob_url = QLineEdit(placeholderText="https://blobs.example.org", objectName="blob_url")
        self.chain_id = QLineEdit(placeholderText="detected when you test or save", objectName="chain_id")
        self.test_button = QPushButton("Test connection", objectName="testConnection")
        self.result = QLabel(wordWrap=True, objectName="networkResult")
        self.check = NetworkCheck(checker, self)
        self._confirmations = NetworkSettings().confirmations

        fields = QFormLayout()
        for name, label in LABELS.items():
            if name != "confirmations":
                fields.addRow(label, getattr(self, name))
        self.fields = QWidget()
        self.fields.setLayout(fields)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.devnet)
        layout.addWidget(self.custom)
        layout.addWidget(self.fields)
        layout.addLayout(test_row)
        layout.addStretch(1)

        self.devnet.toggled.connect(self._mode_changed)
        for edit in (self.rpc_url, self.market_address, self.blob_url, self.chain_id):
            edit.textChanged.connect(self._edited)
        self.test_button.clicked.connect(self.test)
        self.check.done.connect(self._checked)
        self.check.failed.connect(self._check_failed)
        self.load(NetworkSettings())

    def load(self, network: NetworkSettings) -> None:
        """Show ``network``: the devnet when it names no market."""
        self._confirmations = network.confirmations
        devnet = network.market_address is None
        self.rpc_url.setText("" if devnet else network.rpc_url)
        self.market_address.setText(network.market_address or "")
        self.blob_url.setText(network.blob_url or "")
        self.chain_id.setText("" if network.chain_id is None else str(network.chain_id))
        (self.devnet if devnet else self.custom).setChecked(True)
        self._mode_changed()
        self.result.clear()

    def uses_devnet(self) -> bool:
        return self.devnet.isChecked()

    def network(self) -> NetworkSettings:
        """The settings in the form; :class:`SettingsInputError` names the first bad field."""
        if self.uses_devnet():
            return NetworkSettings(confirmations=self._confirmations)
        chain_text = self.chain_id.text().strip()
        if chain_text and not chain_text.isdigit():
            raise SettingsInputError(SECTION, LABELS["chain_id"], f"{chain_text!r} is not a whole number",
                                     hint="leave it empty to use the chain id the node reports")
        raw = {
            "rpc_url": self.rpc_url.text().strip(),
            "market_address": self.market_address.text().strip() or None,
            "blob_url": self.blob_url.text().strip().rstrip("/") or None,
            "chain_id": int(chain_text) if chain_text else None,
            "confirmations": self._confirmations,
        }
        if not raw["rpc_url"]:
            raise SettingsInputError(SECTION, LABELS["rpc_url"], "is empty",
                                     hint="enter the http(s) URL of an Ethereum node of this network")
        try:
            return NetworkSettings.model_validate(raw)
        except ValidationError as e:
            raise from_validation(SECTION, LABELS, e) from None

    def test(self) -> None:
        """Check the network in the form (in the background); the result shows beside the button."""
        try:
            network = self.network()
        except SettingsInputError as e:
            self._show(f"✗ {e.message}", ok=False)
            return
        self.test_button.setEnabled(False)
        self._show(f"checking {network.rpc_url} …", ok=None)
        self.check.start(network)

    def _checked(self, network: NetworkSettings, report: NetworkReport) -> None:
        self.test_button.setEnabled(True)
        if network.chain_id is None and not self.uses_devnet():
            self.chain_id.setText(str(report.chain_id))
        self._show(f"✓ {report.summary()}", ok=True)

    def _check_failed(self, network: NetworkSettings, error: IdlegridError) -> None:
        self.test_button.setEnabled(True)
        self._show(f"✗ {error.message}" + (f"\n{error.hint}" if error.hint else ""), ok=False)

    def _show(self, text: str, *, ok: bool | None) -> None:
        self.result.setText(text)
        self.result.setStyleSheet({True: "color: #1b7f3b;", False: "color: #b3261e;", None: ""}[ok])

    def _mode_changed(self) -> None:
        custom = self.custom.isChecked()
        self.fields.setEnabled(custom)
        self.test_button.setEnabled(custom and not self.check.running)
        self.changed.emit()

    def _edited(self) -> None:
        self.result.clear()
        self.changed.emit()
