"""The first-run wizard: a wallet, an idle policy, a network, then start.

Shown when idlegrid has no wallet yet (:func:`needs_first_run`). Each page does its part when
the user presses Next, through the same engine functions as the CLI and the settings dialog,
and stays put with the error in view when that fails: creating or importing the wallet
(:mod:`engine.wallet.identity`), saving ``[policy]``/``[gpu]`` from the policy form, and
saving ``[network]`` once a custom network passed :func:`check_network` (in the background;
the page moves on by itself when the check succeeds). The last page can turn on autostart;
Start emits ``completed`` so the app starts the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app import autostart as autostart_module
from app.autostart import Autostart
from app.format import chain_words, keyring_words
from app.passphrase import MIN_LENGTH
from app.profit import SECTION as EARNINGS_SECTION
from app.profit import load_earnings_settings
from app.settings.earnings_form import EarningsForm
from app.settings.network_check import NetworkReport, check_network
from app.settings.network_form import Checker, NetworkForm
from app.settings.policy_form import PolicyForm
from app.settings.presets import CUSTOM, preset
from app.wheel_guard import guard_wheel
from app.window_fit import fit_to_screen
from engine.chain.settings import SECTION as NETWORK_SECTION
from engine.chain.settings import NetworkSettings, save_network
from engine.config import load_section, paths, read_settings, save_section
from engine.errors import ConfigError, IdlegridError
from engine.gpu.backend import nvidia_gpu_present
from engine.gpu.settings import load_gpu_settings, load_policy_settings
from engine.wallet import identity, keystore, store
from engine.wallet import settings as wallet_settings
from engine.wallet.errors import KeyringError, WalletError
from engine.wallet.keys import SecretKey


def needs_first_run() -> bool:
    """True when no wallet is set up (or the settings cannot even say): the wizard is due."""
    try:
        return wallet_settings.load().address is None
    except ConfigError:
        return True


@dataclass(frozen=True)
class SetupResult:
    """What the wizard set up; the app starts the engine with it."""

    address: str
    policy: str          # the preset key, or "custom"
    network: NetworkSettings
    autostart: bool


class _Page(QWizardPage):
    """A page that shows the error of its last attempt under its fields."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.error_label = QLabel(wordWrap=True, objectName="wizardError")
        self.error_label.setStyleSheet("color: #b3261e;")
        self.last_error: IdlegridError | None = None

    def show_error(self, error: IdlegridError | None) -> None:
        self.last_error = error
        self.error_label.setText("" if error is None else error.message + (f"\n{error.hint}" if error.hint else ""))


class WelcomePage(_Page):
    def __init__(self) -> None:
        super().__init__("Welcome to idlegrid",
                         "Your GPU trains machine-learning tasks for others while you are away, and you are paid "
                         "for work anyone can check.")
        text = QLabel(
            "Three steps: a wallet (where you are paid), when idlegrid may use your GPU, and which network to "
            "work for. You can change all of it later in Settings.", wordWrap=True)
        QVBoxLayout(self).addWidget(text)


class WalletPage(_Page):
    """Create a key (OS keyring, or an encrypted file when no keyring is usable), import a
    keystore file, or keep the wallet already set up."""

    def __init__(self, scrypt_n: int) -> None:
        super().__init__("Your wallet", "Rewards are paid to this address. The key never leaves this computer.")
        self.scrypt_n = scrypt_n
        self.keep = QRadioButton(objectName="keepWallet")
        self.create_new = QRadioButton(objectName="createWallet")
        self.import_ = QRadioButton("Import a keystore file (geth, MetaMask, an idlegrid export)",
                                    objectName="importWallet")
        group = QButtonGroup(self)
        for button in (self.keep, self.create_new, self.import_):
            group.addButton(button)
        self.backend_label = QLabel(wordWrap=True, objectName="keyringBackend")
        self.file = QLineEdit(objectName="keystorePath")
        self.browse = QPushButton("Browse…")
        self.passphrase = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName="passphrase")
        self.passphrase_again = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName="passphraseAgain")
        self.passphrase_again_label = QLabel("Repeat the passphrase")

        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Keystore file", file_row)
        form.addRow("Passphrase", self.passphrase)
        form.addRow(self.passphrase_again_label, self.passphrase_again)
        self.file_fields = QWidget()
        self.file_fields.setLayout(form)
        layout = QVBoxLayout(self)
        for w in (self.keep, self.create_new, self.import_, self.file_fields, self.backend_label, self.error_label):
            layout.addWidget(w)
        layout.addStretch(1)
        for button in (self.keep, self.create_new, self.import_):
            button.toggled.connect(self._mode_changed)
        self.browse.clicked.connect(self._browse)

    def initializePage(self) -> None:
        try:
            self.backend: str | None = store.describe()
            self.backend_label.setText(f"Keys are kept in {keyring_words(self.backend)}.")
        except KeyringError as e:
            self.backend = None
            self.backend_label.setText(f"No secure OS keyring is usable ({e.message}); the key will be kept in a "
                                       "passphrase-encrypted file instead, and idlegrid asks the passphrase at start.")
        try:
            existing = wallet_settings.load().address
        except ConfigError:
            existing = None
        self.keep.setText(f"Keep my wallet {existing}" if existing else "")
        self.keep.setVisible(existing is not None)
        self.create_new.setText("Create a new wallet" + (" (kept in the OS keyring)" if self.backend
                                                       else " (kept in an encrypted keystore file)"))
        (self.keep if existing else self.create_new).setChecked(True)
        if not self.file.text():
            self.file.setText(str(Path.home() / "idlegrid-wallet.json"))
        self._mode_changed()

    def _mode_changed(self) -> None:
        to_file = self.create_new.isChecked() and self.backend is None
        self.file_fields.setVisible(to_file or self.import_.isChecked())
        self.passphrase_again.setVisible(to_file)
        self.passphrase_again_label.setVisible(to_file)
        self.show_error(None)

    def _browse(self) -> None:
        if self.import_.isChecked():
            name, _ = QFileDialog.getOpenFileName(self, "Keystore file", self.file.text(), "Keystore (*.json);;All (*)")
        else:
            name, _ = QFileDialog.getSaveFileName(self, "New keystore file", self.file.text(), "Keystore (*.json)")
        if name:
            self.file.setText(name)

    def validatePage(self) -> bool:
        try:
            self.address = self._apply()
        except IdlegridError as e:
            self.show_error(e)
            return False
        self.show_error(None)
        return True

    def _apply(self) -> str:
        if self.keep.isChecked():
            return identity.current().address
        path = Path(self.file.text().strip()).expanduser()
        if self.import_.isChecked():
            if self.backend is not None:
                return identity.keep_in_keyring(keystore.decrypt(path, self.passphrase.text())).address
            return identity.use_keystore(path, self.passphrase.text()).address
        if self.backend is not None:
            return identity.create().address
        secret = self.passphrase.text()
        if len(secret) < MIN_LENGTH:
            raise WalletError(f"the passphrase is shorter than {MIN_LENGTH} characters",
                              hint="choose a longer one: a few words is good")
        if secret != self.passphrase_again.text():
            raise WalletError("the two passphrases differ", hint="type the same passphrase twice")
        return identity.keep_in_keystore(SecretKey.generate(), path, secret, scrypt_n=self.scrypt_n).address


class PolicyPage(_Page):
    def __init__(self) -> None:
        super().__init__("When may idlegrid use your GPU?",
                         "Pick a preset, or adjust any rule. A game or another program on the GPU always comes first.")
        self.form = PolicyForm()
        self.earnings_form = EarningsForm()
        self.form.add_simple(self.earnings_form.rows())
        self.gpu_found = nvidia_gpu_present()
        self.form.set_cpu_mode(not self.gpu_found)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error_label)

    def initializePage(self) -> None:
        """Start from what is saved (a rerun keeps earlier choices); defaults when nothing is."""
        try:
            gpu = load_gpu_settings()
            if not self.gpu_found and "allow_cpu" not in read_settings(paths().settings_file).get("gpu", {}):
                gpu = gpu.model_copy(update={"allow_cpu": True})  # no GPU: otherwise nothing would ever run
            self.form.load(load_policy_settings(), gpu)
            self.earnings_form.load(load_earnings_settings())
        except ConfigError as e:
            self.show_error(ConfigError(f"{e.message}; showing the defaults", hint="Next saves the form's values"))

    def validatePage(self) -> bool:
        try:
            policy, gpu = self.form.policy(), self.form.gpu()
            save_section("policy", policy)
            save_section("gpu", gpu)
            save_section(EARNINGS_SECTION, self.earnings_form.settings())
        except IdlegridError as e:
            self.show_error(e)
            return False
        self.show_error(None)
        return True


class NetworkPage(_Page):
    """The local devnet (try it out, no real money) or a network, checked before it is saved."""

    def __init__(self, checker: Checker) -> None:
        super().__init__("Which network?",
                         "Start with the local devnet to see tasks flow on this computer; switch to a real network "
                         "later in Settings.")
        self.form = NetworkForm(checker)
        self.status = QLabel(objectName="networkStatus", wordWrap=True)
        self._verified: NetworkSettings | None = None
        self._checking: NetworkSettings | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.error_label)
        self.form.check.done.connect(self._ok)
        self.form.check.failed.connect(self._failed)

    def initializePage(self) -> None:
        try:
            self.form.load(load_section(NETWORK_SECTION, NetworkSettings))  # as written: a profile stays named
        except IdlegridError as e:
            self.show_error(e)

    def validatePage(self) -> bool:
        try:
            network = self.form.network()
        except IdlegridError as e:
            self.show_error(e)
            return False
        if network.market_address is not None and network != self._verified:
            if self._checking is None:
                self._checking = network
                self.status.setText(f"checking {network.rpc_url} …")
                self.show_error(None)
                self.form.check.start(network)
            return False  # _ok() moves on when the check passes
        try:
            save_network(network)
        except IdlegridError as e:
            self.show_error(e)
            return False
        self.network = network
        return True

    def _ok(self, network: NetworkSettings, report: NetworkReport) -> None:
        if network != self._checking:
            return
        self._checking = None
        self._verified = network.model_copy(update={"chain_id": network.chain_id or report.chain_id})
        self.form.chain_id.setText(str(report.chain_id))
        self.status.setText(f"✓ {report.summary()}")
        if self.wizard() is not None and self.wizard().currentPage() is self:
            self.wizard().next()

    def _failed(self, network: NetworkSettings, error: IdlegridError) -> None:
        if network != self._checking:
            return
        self._checking = None
        self.status.clear()
        self.show_error(error)


class StartPage(_Page):
    def __init__(self, autostart: Autostart) -> None:
        super().__init__("Ready", "idlegrid will sit in the tray and work only when your rules allow.")
        self.autostart = autostart
        self.summary = QLabel(wordWrap=True, objectName="summary")
        self.autostart_box = QCheckBox("Start idlegrid when I log in", objectName="autostart", checked=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.autostart_box)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start")

    def initializePage(self) -> None:
        wizard: FirstRunWizard = self.wizard()  # type: ignore[assignment]
        key = wizard.policy_page.form.preset.currentData()
        policy = "your own rules" if key == CUSTOM else preset(key).title
        network = wizard.network_page.network
        where = "the local devnet"
        if network.market_address is not None:
            where = network.rpc_url + (f" ({chain_words(network.chain_id)})" if network.chain_id else "")
        self.summary.setText(f"Wallet: {wizard.wallet_page.address}\nGPU use: {policy}\nNetwork: {where}")

    def validatePage(self) -> bool:
        try:
            if self.autostart_box.isChecked() != self.autostart.is_enabled():
                self.autostart.enable() if self.autostart_box.isChecked() else self.autostart.disable()
        except IdlegridError as e:
            self.show_error(e)
            return False
        return True


class FirstRunWizard(QWizard):
    """The first-run wizard; ``completed`` carries a :class:`SetupResult` when Start is pressed."""

    completed = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, autostart: Autostart | None = None,
                 checker: Checker = check_network, scrypt_n: int = keystore.STANDARD_SCRYPT_N) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up idlegrid")
        self.setObjectName("firstRunWizard")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.autostart = autostart or autostart_module.for_this_system()
        self.wallet_page = WalletPage(scrypt_n)
        self.policy_page = PolicyPage()
        self.network_page = NetworkPage(checker)
        self.start_page = StartPage(self.autostart)
        for page in (WelcomePage(), self.wallet_page, self.policy_page, self.network_page, self.start_page):
            self.addPage(page)
        fit_to_screen(self, 680, 640)
        guard_wheel(self)
        self.accepted.connect(self._done)

    def _done(self) -> None:
        self.completed.emit(SetupResult(
            address=self.wallet_page.address,
            policy=self.policy_page.form.preset.currentData(),
            network=self.network_page.network,
            autostart=self.start_page.autostart_box.isChecked(),
        ))
