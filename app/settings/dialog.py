"""The settings dialog: idle policy, network, data folders and autostart, saved together.

Save reads every form through the engine's own models; a bad value is shown with the field
to fix and nothing is written. A custom network is checked first (node, chain id, contract at
the market address, blob server /health) in the background; only when every part answers are
the sections written, the chain id pinned to the one the node reported, and ``saved``
emitted. A settings file with a broken section opens with that section's defaults and says
so: saving then repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import autostart as autostart_module
from app.autostart import Autostart
from app.engine_host import APP_SECTION, AppSettings
from app.profit import SECTION as EARNINGS_SECTION
from app.profit import EarningsSettings
from app.settings.app_form import TITLE as APP_TITLE
from app.settings.app_form import AppForm
from app.settings.earnings_form import EarningsForm
from app.settings.network_check import NetworkReport, check_network
from app.settings.network_form import Checker, NetworkForm
from app.settings.policy_form import PolicyForm
from app.wheel_guard import guard_wheel
from app.window_fit import fit_to_screen
from engine.chain.settings import SECTION as NETWORK_SECTION
from engine.chain.settings import NetworkSettings
from engine.config import HOME_ENV, load_section, paths, save_section
from engine.errors import ConfigError, IdlegridError
from engine.gpu.backend import nvidia_gpu_present
from engine.gpu.settings import GpuSettings, PolicySettings


@dataclass(frozen=True)
class SavedSettings:
    """What a save wrote; the app applies the policy at once and the network on restart."""

    policy: PolicySettings
    gpu: GpuSettings
    network: NetworkSettings
    network_changed: bool
    autostart: bool


def _load(name: str, model: type[Any], problems: list[ConfigError]) -> Any:
    try:
        return load_section(name, model)
    except ConfigError as e:
        problems.append(e)
        return model()


class SettingsDialog(QDialog):
    """Edits the ``[policy]``, ``[gpu]``, ``[earnings]``, ``[app]`` and ``[network]`` sections and
    the autostart entry."""

    saved = Signal(object)  # SavedSettings

    def __init__(self, parent: QWidget | None = None, *, autostart: Autostart | None = None,
                 checker: Checker = check_network) -> None:
        super().__init__(parent)
        self.setWindowTitle("idlegrid settings")
        self.setObjectName("settingsDialog")
        self.autostart = autostart or autostart_module.for_this_system()
        self.last_error: IdlegridError | None = None
        self._checking: NetworkSettings | None = None

        self.policy_form = PolicyForm()
        self.earnings_form = EarningsForm()
        self.policy_form.add_simple(self.earnings_form.rows())
        self.policy_form.set_cpu_mode(not nvidia_gpu_present())
        self.app_form = AppForm()
        self.policy_form.add_advanced(APP_TITLE, self.app_form.rows())
        self.network_form = NetworkForm(checker)
        self.autostart_box = QCheckBox("Start idlegrid when I log in", objectName="autostart")
        self.error_label = QLabel(wordWrap=True, objectName="settingsError")
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.hide()
        self.status_label = QLabel(objectName="settingsStatus")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)

        tabs = QTabWidget(objectName="settingsTabs")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.policy_form)
        tabs.addTab(scroll, "Idle policy && earnings")
        for page, title in ((self.network_form, "Network"), (self._data_tab(), "Data && startup")):
            area = QScrollArea()
            area.setWidgetResizable(True)
            area.setWidget(page)
            tabs.addTab(area, title)
        self.tabs = tabs
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.buttons)
        layout.addLayout(bottom)
        fit_to_screen(self, 640, 720)
        guard_wheel(self)

        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.network_form.check.done.connect(self._network_ok)
        self.network_form.check.failed.connect(self._network_failed)
        self.reload()

    def _data_tab(self) -> QWidget:
        p = paths()
        tab = QWidget()
        form = QFormLayout(tab)
        for label, folder in (("Settings file", p.settings_file), ("Data folder", p.data_dir),
                              ("Cache folder", p.cache_dir)):
            row = QHBoxLayout()
            text = QLineEdit(str(folder), objectName=f"path_{label.split()[0].lower()}", readOnly=True)
            text.setAccessibleName(label)
            text.setCursorPosition(0)  # a long path scrolls inside the field: the dialog still fits the screen
            row.addWidget(text, 1)
            button = QPushButton("Open")
            target = folder if folder.is_dir() or folder.suffix == "" else folder.parent
            button.clicked.connect(lambda _=False, f=target: self._open_folder(f))
            row.addWidget(button)
            form.addRow(label, row)
        form.addRow(QLabel(f"To keep idlegrid's data elsewhere, start it with the environment variable "
                           f"{HOME_ENV}=/path/to/folder (settings, data and cache then all live there).",
                           wordWrap=True))
        form.addRow(self.autostart_box)
        form.addRow(QLabel(f"Autostart entry: {self.autostart.where}", wordWrap=True, objectName="autostartWhere"))
        return tab

    @staticmethod
    def _open_folder(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # load / save -------------------------------------------------------------------------
    def reload(self) -> None:
        """Fill the forms from the settings file (broken sections: defaults, and a warning)."""
        problems: list[ConfigError] = []
        self.saved_policy: PolicySettings = _load("policy", PolicySettings, problems)
        self.saved_gpu: GpuSettings = _load("gpu", GpuSettings, problems)
        self.saved_network: NetworkSettings = _load(NETWORK_SECTION, NetworkSettings, problems)
        self.saved_earnings: EarningsSettings = _load(EARNINGS_SECTION, EarningsSettings, problems)
        self.saved_app: AppSettings = _load(APP_SECTION, AppSettings, problems)
        self.policy_form.load(self.saved_policy, self.saved_gpu)
        self.earnings_form.load(self.saved_earnings)
        self.app_form.load(self.saved_app)
        self.network_form.load(self.saved_network)
        self.autostart_box.setChecked(self.autostart.is_enabled())
        self._clear_error()
        if problems:
            e = problems[0]
            self._show_error(ConfigError(f"{e.message}; the form shows the defaults for it",
                                         hint="check the values and save to replace the broken part"), dialog=False)

    def save(self) -> None:
        """Validate everything; check a new custom network first; then write and close."""
        self._clear_error()
        try:
            policy, gpu, network = self.policy_form.policy(), self.policy_form.gpu(), self.network_form.network()
            self._earnings = self.earnings_form.settings()
        except IdlegridError as e:
            self._show_error(e)
            return
        self._pending = (policy, gpu)
        if network.market_address is not None and network != self.saved_network:
            self._checking = network
            self._busy(f"checking {network.rpc_url} …")
            self.network_form.check.start(network)
            return
        self._commit(policy, gpu, network)

    def reject(self) -> None:
        """Cancel: a network check still running is forgotten, so its answer saves nothing."""
        self._checking = None
        self._busy(None)
        super().reject()

    def _network_ok(self, network: NetworkSettings, report: NetworkReport) -> None:
        if network != self._checking:
            return  # a "Test connection" of the form, not this save
        self._checking = None
        self._busy(None)
        if network.chain_id is None:
            network = network.model_copy(update={"chain_id": report.chain_id})
        self._commit(*self._pending, network)

    def _network_failed(self, network: NetworkSettings, error: IdlegridError) -> None:
        if network != self._checking:
            return
        self._checking = None
        self._busy(None)
        self.tabs.setCurrentIndex(1)  # the network tab
        self._show_error(error)

    def _commit(self, policy: PolicySettings, gpu: GpuSettings, network: NetworkSettings) -> None:
        network_changed = network != self.saved_network
        try:
            save_section("policy", policy)
            save_section("gpu", gpu)
            save_section(EARNINGS_SECTION, self._earnings)
            save_section(APP_SECTION, self.app_form.settings())
            if network_changed:
                save_section(NETWORK_SECTION, network)
            want = self.autostart_box.isChecked()
            if want != self.autostart.is_enabled():
                self.autostart.enable() if want else self.autostart.disable()
        except IdlegridError as e:
            self._show_error(e)
            return
        except OSError as e:
            self._show_error(ConfigError(f"cannot write the settings file {paths().settings_file}: {e.strerror or e}",
                                         hint="check that the folder is writable and the disk not full"))
            return
        self.saved_policy, self.saved_gpu, self.saved_network = policy, gpu, network
        self.saved.emit(SavedSettings(policy, gpu, network, network_changed, self.autostart_box.isChecked()))
        self.accept()

    # feedback ----------------------------------------------------------------------------
    def _busy(self, text: str | None) -> None:
        self.status_label.setText(text or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(text is None)

    def _clear_error(self) -> None:
        self.last_error = None
        self.error_label.clear()
        self.error_label.hide()

    def _show_error(self, error: IdlegridError, *, dialog: bool = True) -> None:
        """Say what is wrong under the tabs, and (in the app) in the usual error dialog."""
        self.last_error = error
        self.error_label.setText(error.message + (f"\n{error.hint}" if error.hint else ""))
        self.error_label.show()
        app = QApplication.instance()
        if dialog and app is not None and hasattr(app, "show_error"):
            app.show_error(error, self)
