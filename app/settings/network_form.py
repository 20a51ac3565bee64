"""The network form: the local devnet, a network profile, or a network given by RPC URL, market
address and blob URL (see docs/network.md for profiles).

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
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
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
from engine.network.profiles import DEVNET, Profile, list_profiles, load_profile

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
    """Picks the devnet, a stored network profile or a custom network; ``network()`` is what to save.

    A profile is saved as ``[network] profile = NAME`` and nothing else, exactly what
    ``idlegrid network use NAME`` writes, so its fields (fallback RPCs, confirmations, fee
    ceiling, code hash...) stay in its file, untouched. A custom network keeps the fields this
    form does not show (fallbacks, fee ceiling, deploy block...) as they were loaded.
    """

    changed = Signal()

    def __init__(self, checker: Checker = check_network, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.devnet = QRadioButton("Local devnet: a private test chain on this computer (no real money)",
                                   objectName="devnet")
        self.profile = QRadioButton("A network profile:", objectName="profile")
        self.custom = QRadioButton("A custom network:", objectName="custom")
        group = QButtonGroup(self)
        for button in (self.devnet, self.profile, self.custom):
            group.addButton(button)
        self.profiles = QComboBox(objectName="profiles")
        self.profiles.setAccessibleName("Network profile")
        self.profile_details = QLabel(wordWrap=True, objectName="profileDetails")
        self.profile_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rpc_url = QLineEdit(placeholderText="https://rpc.example.org", objectName="rpc_url")
        self.market_address = QLineEdit(placeholderText="0x… (the TaskMarket contract)", objectName="market_address")
        self.blob_url = QLineEdit(placeholderText="https://blobs.example.org", objectName="blob_url")
        self.chain_id = QLineEdit(placeholderText="detected when you test or save", objectName="chain_id")
        self.test_button = QPushButton("Test connection", objectName="testConnection")
        self.result = QLabel(wordWrap=True, objectName="networkResult")
        self.check = NetworkCheck(checker, self)
        self._loaded = NetworkSettings()

        fields = QFormLayout()
        for name, label in LABELS.items():
            if name != "confirmations":
                fields.addRow(label, getattr(self, name))
        self.fields = QWidget()
        self.fields.setLayout(fields)
        profile_row = QHBoxLayout()
        profile_row.addWidget(self.profile)
        profile_row.addWidget(self.profiles, 1)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.devnet)
        layout.addLayout(profile_row)
        layout.addWidget(self.profile_details)
        layout.addWidget(self.custom)
        layout.addWidget(self.fields)
        layout.addLayout(test_row)
        layout.addStretch(1)

        for button in (self.devnet, self.profile, self.custom):
            button.toggled.connect(self._mode_changed)
        self.profiles.currentIndexChanged.connect(self._profile_picked)
        for edit in (self.rpc_url, self.market_address, self.blob_url, self.chain_id):
            edit.textChanged.connect(self._edited)
        self.test_button.clicked.connect(self.test)
        self.check.done.connect(self._checked)
        self.check.failed.connect(self._check_failed)
        self.load(NetworkSettings())

    def load(self, network: NetworkSettings) -> None:
        """Show ``network`` as the settings file holds it: the profile it names, the devnet when
        it names neither a profile nor a market, else the custom fields."""
        self._loaded = network
        self._fill_profiles(network.profile)
        custom = network.profile is None and network.market_address is not None
        self.rpc_url.setText(network.rpc_url if custom else "")
        self.market_address.setText((network.market_address or "") if custom else "")
        self.blob_url.setText((network.blob_url or "") if custom else "")
        self.chain_id.setText(str(network.chain_id) if custom and network.chain_id is not None else "")
        if network.profile not in (None, DEVNET):
            self.profile.setChecked(True)
        else:
            (self.custom if custom else self.devnet).setChecked(True)
        self._mode_changed()
        self._profile_picked()
        self.result.clear()

    def _fill_profiles(self, current: str | None) -> None:
        """The stored profiles (the devnet has its own choice); one the settings name but whose
        file is gone is listed too, so the form shows what is in use and why it fails."""
        names = [n for n in list_profiles() if n != DEVNET]
        if current is not None and current != DEVNET and current not in names:
            names.append(current)
        self.profiles.blockSignals(True)
        self.profiles.clear()
        for name in names:
            self.profiles.addItem(name, name)
        if current in names:
            self.profiles.setCurrentIndex(names.index(current))
        self.profiles.blockSignals(False)
        self.profile.setEnabled(bool(names))
        self.profile.setText("A network profile:" if names else
                             "A network profile: none yet (add one with `idlegrid network add` or `deploy`)")

    def uses_devnet(self) -> bool:
        return self.devnet.isChecked()

    def chosen_profile(self) -> str | None:
        """The profile picked in the list, when "A network profile" is chosen."""
        return str(self.profiles.currentData()) if self.profile.isChecked() and self.profiles.count() else None

    def network(self) -> NetworkSettings:
        """The settings in the form; an :class:`IdlegridError` names the first bad field or profile."""
        if self.uses_devnet():
            if self._loaded.profile == DEVNET:  # chosen with `idlegrid network use devnet`: kept as is
                return NetworkSettings(profile=DEVNET)
            return NetworkSettings(confirmations=self._loaded.confirmations)
        if self.profile.isChecked():
            name = self.chosen_profile()
            if name is None:
                raise SettingsInputError(SECTION, "Network profile", "none is chosen",
                                         hint="add one with `idlegrid network add`, or choose another network")
            load_profile(name)  # a profile that cannot be read is refused here, as `network use` does
            return NetworkSettings(profile=name)
        return self._custom()

    def _custom(self) -> NetworkSettings:
        chain_text = self.chain_id.text().strip()
        if chain_text and not chain_text.isdigit():
            raise SettingsInputError(SECTION, LABELS["chain_id"], f"{chain_text!r} is not a whole number",
                                     hint="leave it empty to use the chain id the node reports")
        kept = self._loaded.model_dump(exclude={"profile"}) if self._loaded.profile is None else {}
        raw = {
            **kept,
            "rpc_url": self.rpc_url.text().strip(),
            "market_address": self.market_address.text().strip() or None,
            "blob_url": self.blob_url.text().strip().rstrip("/") or None,
            "chain_id": int(chain_text) if chain_text else None,
            "confirmations": self._loaded.confirmations,
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
            if network.profile is not None:  # test what the profile names
                network = load_profile(network.profile).settings()
        except IdlegridError as e:
            self._show(f"✗ {e.message}", ok=False)
            return
        self.test_button.setEnabled(False)
        self._show(f"checking {network.rpc_url} …", ok=None)
        self.check.start(network)

    def _checked(self, network: NetworkSettings, report: NetworkReport) -> None:
        self.test_button.setEnabled(True)
        if network.chain_id is None and self.custom.isChecked():
            self.chain_id.setText(str(report.chain_id))
        self._show(f"✓ {report.summary()}", ok=True)

    def _check_failed(self, network: NetworkSettings, error: IdlegridError) -> None:
        self.test_button.setEnabled(True)
        self._show(f"✗ {error.message}" + (f"\n{error.hint}" if error.hint else ""), ok=False)

    def _show(self, text: str, *, ok: bool | None) -> None:
        self.result.setText(text)
        self.result.setStyleSheet({True: "color: #1b7f3b;", False: "color: #b3261e;", None: ""}[ok])

    def _mode_changed(self) -> None:
        custom, profile = self.custom.isChecked(), self.profile.isChecked()
        self.fields.setEnabled(custom)
        self.profiles.setEnabled(profile)
        self.profile_details.setVisible(profile)
        self.test_button.setEnabled((custom or profile) and not self.check.running)
        self.result.clear()
        self.changed.emit()

    def _profile_picked(self) -> None:
        """Show what the picked profile holds (read from its file), or why it cannot be used."""
        name = self.profiles.currentData()
        if name is None:
            self.profile_details.clear()
            return
        try:
            self.profile_details.setText(describe(load_profile(str(name))))
            self.profile_details.setStyleSheet("")
        except IdlegridError as e:
            self.profile_details.setText(e.message + (f"\n{e.hint}" if e.hint else ""))
            self.profile_details.setStyleSheet("color: #b3261e;")
        self.result.clear()
        self.changed.emit()

    def _edited(self) -> None:
        self.result.clear()
        self.changed.emit()


def describe(profile: Profile) -> str:
    """A profile in plain words, for the form (its file is the place to change it)."""
    gwei = "no ceiling" if profile.max_fee_per_gas is None else f"at most {profile.max_fee_per_gas / 1e9:g} gwei"
    rpcs = "\n".join(f"  {url}" for url in profile.rpc_urls)
    return (f"chain id {profile.chain_id}, market {profile.market_address} (since block {profile.deploy_block:,})\n"
            f"nodes, tried in turn:\n{rpcs}\n"
            f"blob server: {profile.blob_url or 'none'}\n"
            f"{profile.confirmations} confirmations; gas price {gwei}\n"
            f"(change it with `idlegrid network add --replace`; saving picks it, as `idlegrid network use` does)")
