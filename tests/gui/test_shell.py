"""The assembled app (offscreen): no tray, so the dashboard shows; the engine service's errors reach
the user; Quit closes everything (the service is stopped after each test by the conftest)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.application import Application
from app.passphrase import PassphraseDialog
from app.settings import SettingsDialog
from app.shell import Shell
from app.wallet_window import WalletWindow
from app.wizard import FirstRunWizard
from engine.chain.settings import NetworkSettings, save_network
from engine.config import save_section
from engine.events import EngineState
from engine.wallet import identity
from engine.wallet.keys import SecretKey
from engine.wallet.settings import WalletSettings
from tests.gui.keystores import CHEAP_SCRYPT_N, PASSPHRASE


def _dialogs(qapp: Application) -> list[QMessageBox]:
    return [w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_a_first_run_opens_the_wizard_and_starts_the_engine_only_when_it_completes(qtbot, qapp) -> None:
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    shell.start()
    wizard = qapp.window("wizard")
    assert isinstance(wizard, FirstRunWizard) and wizard.isVisible()
    assert not shell.host.running()
    if (shown := qapp.window("dashboard")) is not None:  # offscreen there is no tray: it opened at once
        shown.hide()
    wizard.completed.emit(None)
    dashboard = qapp.window("dashboard")                                    # the first run ends on the dashboard
    assert dashboard is not None and dashboard.isVisible()
    qtbot.waitUntil(lambda: shell.bridge.state()[0] is EngineState.ERROR, timeout=60_000)  # unconfigured: next test
    with qtbot.waitSignal(shell.quit_finished, timeout=30_000):
        qapp.quit_requested.emit()
    qtbot.waitUntil(lambda: qapp.window("wizard") is None)


def test_a_wallet_whose_key_is_gone_shows_why_the_engine_cannot_work_and_quits_cleanly(qtbot, qapp) -> None:
    save_section("wallet", WalletSettings(address="0x8ba1f109551bD432803012645Ac136ddd64DBA72"))  # no key anywhere
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)   # the real engine
    with qtbot.waitSignal(shell.bridge.error, timeout=60_000) as error:  # a loaded CI machine: the spawn is slow
        shell.start()
    assert qapp.window("wizard") is None
    assert shell.dashboard is not None and shell.dashboard.isVisible()     # offscreen: no tray, so the window
    qtbot.waitUntil(lambda: shell.bridge.state()[0] is EngineState.ERROR, timeout=60_000)
    assert shell.tray.icon_name == "tray-error"
    message, hint = error.args[0].message, error.args[0].data["hint"]
    assert message and hint
    qtbot.waitUntil(lambda: len(_dialogs(qapp)) == 1)
    assert _dialogs(qapp)[0].text() == message and _dialogs(qapp)[0].informativeText() == hint
    assert shell.dashboard.job_panel.state.text() == f"Needs attention: {message}"
    with qtbot.waitSignal(shell.quit_finished, timeout=30_000):
        qapp.quit_requested.emit()
    qtbot.waitUntil(lambda: qapp.window("dashboard") is None)
    assert not shell.host.running()


def test_the_settings_and_wallet_windows_open_through_the_app(qtbot, qapp) -> None:
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    assert isinstance(qapp.open_window("settings"), SettingsDialog)
    assert isinstance(qapp.open_window("wallet"), WalletWindow)
    shell.deleteLater()


def test_saving_settings_restarts_the_engine_so_they_apply(qtbot, qapp) -> None:
    save_section("wallet", WalletSettings(address="0x8ba1f109551bD432803012645Ac136ddd64DBA72"))
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    starts: list[str] = []
    shell.bridge.state_changed.connect(lambda e: starts.append(e.message) if e.data["state"] == "starting" else None)
    shell.start()
    qtbot.waitUntil(lambda: shell.bridge.state()[0] is EngineState.ERROR and not shell.host.running(), timeout=60_000)
    before = len(starts)
    settings = qapp.open_window("settings")
    settings.saved.emit(None)       # e.g. the user fixed the network after the error: the service rebuilds its worker
    qtbot.waitUntil(lambda: len(starts) > before, timeout=60_000)
    qtbot.waitUntil(lambda: shell.bridge.state()[0] is EngineState.ERROR and not shell.host.running(), timeout=60_000)
    with qtbot.waitSignal(shell.quit_finished, timeout=30_000):
        qapp.quit_requested.emit()
    qtbot.waitUntil(lambda: qapp.window("dashboard") is None)


def _keystore_wallet(tmp_path) -> None:
    identity.keep_in_keystore(SecretKey.generate(), tmp_path / "wallet.json", PASSPHRASE, scrypt_n=CHEAP_SCRYPT_N)


def _type_passphrase(text: str | None, tries: int = 600) -> None:
    """Answer the passphrase dialog once it is up: on a busy machine it may open after the first
    look, so look again every 50 ms (up to 30 s) instead of assuming when it appears."""
    dialog = QApplication.activeModalWidget()
    if not isinstance(dialog, PassphraseDialog) and tries > 0:
        QTimer.singleShot(50, lambda: _type_passphrase(text, tries - 1))
        return
    assert isinstance(dialog, PassphraseDialog), dialog
    if text is None:
        dialog.reject()
    else:
        dialog.first.setText(text)
        dialog.accept()


def test_a_keystore_wallet_is_unlocked_with_its_passphrase_before_the_engine_starts(
        qtbot, qapp, tmp_path, chain, deployment) -> None:
    _keystore_wallet(tmp_path)
    save_network(NetworkSettings(rpc_url=chain.provider.endpoint_uri, market_address=deployment.market_address,
                                 confirmations=0))
    shell = Shell(qapp, gpu_backend=None, quit_app=False)
    QTimer.singleShot(100, lambda: _type_passphrase(PASSPHRASE))
    shell.start()
    # signing, looking for tasks; the service's status (with its network) is a separate message that
    # may reach the app before or after the WAITING state event, so wait for both rather than assume
    qtbot.waitUntil(
        lambda: shell.bridge.state()[0] is EngineState.WAITING and shell.host.network is not None, timeout=60_000
    )
    assert shell.host.network is not None and shell.host.network.market == deployment.market_address
    with qtbot.waitSignal(shell.quit_finished, timeout=30_000):
        qapp.quit_requested.emit()
    qtbot.waitUntil(lambda: qapp.window("dashboard") is None)


def test_a_wrong_passphrase_is_said_plainly(qtbot, qapp, tmp_path) -> None:
    _keystore_wallet(tmp_path)
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    QTimer.singleShot(100, lambda: _type_passphrase("not the passphrase"))
    # the service is a new process that imports the engine, then scrypt checks the passphrase: on a
    # loaded 2-core machine that took over 30 s, so wait for the answer rather than a guessed time
    with qtbot.waitSignal(shell.bridge.error, timeout=180_000) as error:
        shell.start()
    assert ": wrong passphrase" in error.args[0].message
    qtbot.waitUntil(lambda: not shell.host.running(), timeout=60_000)


def test_cancelling_the_passphrase_leaves_the_engine_off_and_says_so(qtbot, qapp, tmp_path) -> None:
    _keystore_wallet(tmp_path)
    shell = Shell(qapp, devnet=False, gpu_backend=None, quit_app=False)
    QTimer.singleShot(100, lambda: _type_passphrase(None))
    with qtbot.waitSignal(shell.bridge.error, timeout=60_000) as error:
        shell.start()
    assert error.args[0].message.startswith("the wallet is locked: its passphrase was not given")
    assert not shell.host.was_started
