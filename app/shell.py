"""Puts the app together: bridge, engine host, tray, notifications and the windows.

:class:`Shell` is what ``app.main`` runs and what the GUI tests build. It registers the windows
with the Application (dashboard here; settings, wallet and the first-run wizard come from their
own modules), shows the tray icon, or the dashboard where the desktop has no tray, connects to
the engine service (starting it when none runs), and owns the one quit path. Quit leaves the
service working unless ``[app] quit_stops_engine`` is set; "Quit and stop earning" in the tray
always stops it (the job checkpoints first).

A test may pass ``worker_factory``: the service then runs inside this process with that worker
(engine.service.daemon.Service), still reached through its control API like a separate one.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.application import Application
from app.bridge import EngineBridge
from app.dashboard import DashboardWindow
from app.engine_host import EngineHost, NetworkInfo, daemon_launcher, quit_stops_engine
from app.errors import AppError
from app.notify import Notifier
from app.tray import Tray
from engine.config import paths
from engine.errors import IdlegridError
from engine.events import EngineEvent, Kind
from engine.gpu.monitor import GpuBackend

# Windows written in their own modules: name -> (module, class); built with no arguments
# beyond their parent, they read settings and wallet themselves.
OTHER_WINDOWS = {
    "settings": ("app.settings", "SettingsDialog"),
    "wallet": ("app.wallet_window", "WalletWindow"),
    "wizard": ("app.wizard", "FirstRunWizard"),
}


CHANGE_SIGNALS = ("saved", "wallet_changed")  # what restarts the engine, on the windows that have them


def history_path() -> Path:
    return paths().data_dir / "history.sqlite3"


def default_gpu_backend(*, devnet: bool = False) -> GpuBackend:
    """The ``[gpu]`` backend, chosen as the worker chooses it (on the devnet: CPU mode unless
    the user unticked it), so the panel shows the device the worker trains on."""
    from engine.gpu import load_gpu_settings, open_backend
    from engine.gpu.settings import devnet_gpu_settings

    return open_backend(devnet_gpu_settings() if devnet else load_gpu_settings())


class _DefaultGpu:
    """Shell(gpu_backend=...) left out: default_gpu_backend, with CPU mode on the devnet."""


DEFAULT_GPU = _DefaultGpu()


class Shell(QObject):
    """The running app; ``start()`` shows it and starts the engine, ``quit()`` ends both."""

    quit_finished = Signal()  # the engine stopped; the app leaves its event loop next

    def __init__(
        self,
        app: Application,
        *,
        devnet: bool | None = None,
        devnet_port: int = 8545,
        blob_port: int = 8547,
        dev_account: int | None = None,
        worker_factory: Callable[[Any], Any] | None = None,
        history: Any | None = None,
        gpu_backend: Callable[[], GpuBackend] | _DefaultGpu | None = DEFAULT_GPU,
        quit_app: bool = True,
    ) -> None:
        super().__init__(app)
        self.app = app
        self.bridge = EngineBridge(self)
        self.service: Any | None = None  # the in-process service of a test's worker_factory
        launcher = daemon_launcher(devnet=devnet, devnet_port=devnet_port, blob_port=blob_port,
                                   dev_account=dev_account)
        if worker_factory is not None:
            launcher = self._in_process(worker_factory)
        self.host = EngineHost(self.bridge, launcher=launcher, devnet=bool(devnet),
                               has_signer=worker_factory is not None or dev_account is not None, parent=self)
        self.history = history if history is not None else self._open_history()
        self.tray = Tray(app, self.bridge, self.host)
        self.quit_and_stop_action = QAction("Quit and stop earning", self.tray.menu)
        self.quit_and_stop_action.triggered.connect(lambda: self.quit(stop_service=True))
        self.tray.menu.addAction(self.quit_and_stop_action)
        self.notifier = Notifier(app, self.bridge, self.tray.icon)
        self._gpu_backend = (self._default_gpu_backend if isinstance(gpu_backend, _DefaultGpu) else gpu_backend)
        self.quitting = False
        self._quit_app = quit_app  # False in tests: leave pytest-qt's event loop alone
        app.register_window("dashboard", self._build_dashboard)
        for name, (module, cls) in OTHER_WINDOWS.items():
            app.register_window(name, self._restarting_on_change(_lazy_window(module, cls)))
        app.activate_requested.connect(self._activate)
        app.quit_requested.connect(self.quit)
        self.host.started.connect(self._on_started, Qt.ConnectionType.QueuedConnection)
        self.quit_finished.connect(self._leave, Qt.ConnectionType.QueuedConnection)

    def _in_process(self, worker_factory: Callable[[Any], Any]) -> Callable[[], None]:
        """A launcher that runs the service in this process with the test's worker."""
        def launch() -> None:
            from engine.service.daemon import Service
            from engine.service.workhost import HostOptions

            if self.service is None:
                self.service = Service(HostOptions(devnet=False),
                                       factory=lambda listener, _pw: worker_factory(listener))
                self.service.start()

        return launch

    def _default_gpu_backend(self) -> GpuBackend:
        return default_gpu_backend(devnet=self.host.devnet_mode())

    def _open_history(self) -> Any | None:
        try:
            from engine.history import History
        except ImportError:
            self.bridge.listener(EngineEvent(Kind.LOG, "job history is not available in this build"))
            return None
        try:
            return History.open(history_path())
        except IdlegridError as e:
            self.bridge.report(e)
            return None

    def _build_dashboard(self) -> QWidget:
        path = getattr(self.history, "path", None) or history_path()
        window = DashboardWindow(
            self.app, self.bridge, history=self.history, history_path=path, gpu_backend=self._gpu_backend,
            state=self.tray.state, toggle_pause=self.tray.toggle_pause, destination=self._destination,
            withdraw=lambda done, failed: self.host.call(lambda w: w.withdraw(), done, failed),
            gas_estimate=lambda done, failed: self.host.call(lambda w: w.withdraw_gas_estimate(), done, failed),
            tray_visible=self.tray.icon.isVisible,
            worker_status=self.host.worker_status,
        )
        window.set_network(self.host.network)
        return window

    def _destination(self) -> str:
        """Where Withdraw sends the credits: the worker's account (the wallet's address)."""
        return str(getattr(getattr(self.host, "worker", None), "account", None) or "your wallet")

    def _restarting_on_change(self, factory: Callable[[], QWidget]) -> Callable[[], QWidget]:
        """The settings dialog's ``saved`` and the wallet window's ``wallet_changed`` restart the
        engine, so the new policy, network or key apply at once (the job resumes from its checkpoint)."""
        def build() -> QWidget:
            window = factory()
            for name in CHANGE_SIGNALS:
                signal = getattr(window, name, None)
                if signal is not None:
                    signal.connect(self._on_settings_changed)
            return window

        return build

    def _on_settings_changed(self, *_args: Any) -> None:
        if self.quitting or not self.host.was_started:
            return  # not started yet (the wizard's own Start starts it), or leaving anyway
        self.bridge.listener(EngineEvent(Kind.LOG, "settings changed: restarting the engine to apply them"))
        self.host.restart()

    @property
    def dashboard(self) -> DashboardWindow | None:
        window = self.app.window("dashboard")
        return window if isinstance(window, DashboardWindow) else None

    def start(self) -> None:
        """Show the tray icon (or the dashboard without a tray) and start the engine; on a first
        run (no wallet yet) the wizard comes first and the engine starts when it completes."""
        if not self.tray.show():
            self.app.open_window("dashboard")
        if self._first_run():
            wizard = self.app.open_window("wizard")
            completed = getattr(wizard, "completed", None)
            if completed is not None:
                completed.connect(self._after_wizard)
                return
        if self.unlock_keystore():
            self.host.start()

    def _after_wizard(self, _result: object) -> None:
        """The first run's end: start the engine and show the dashboard (issue 18: no window opened)."""
        self.host.start()
        self.app.open_window("dashboard")

    def unlock_keystore(self) -> bool:
        """Where the wallet is a keystore file, ask its passphrase before the engine starts
        (the worker signs with it); False when the user cancelled (the engine stays off)."""
        keystore = None if self.host.has_signer() else _keystore_path()
        if keystore is None:
            return True
        from app.passphrase import ask_passphrase

        passphrase = ask_passphrase(self.dashboard, "Unlock your wallet",
                                    f"idlegrid keeps its key in the keystore file {keystore}.\n"
                                    "Type its passphrase to start working:", confirm=False)
        if passphrase is None:
            self.bridge.report(WalletLocked(keystore))
            return False
        self.host.passphrase = passphrase
        return True

    def _first_run(self) -> bool:
        """The wizard is due: no wallet yet, and the engine was not given another signer."""
        if self.host.has_signer():
            return False
        try:
            from app.wizard import needs_first_run
        except ImportError:
            return False
        return needs_first_run()

    def _on_started(self, network: NetworkInfo | None) -> None:
        if self.dashboard is not None:
            self.dashboard.set_network(network)

    def _activate(self) -> None:
        self.app.open_window("dashboard")

    def _detach(self) -> None:
        """Stop listening to the app-wide signals: the Application outlives this shell (tests
        build several shells on one Application)."""
        for signal, slot in ((self.app.activate_requested, self._activate), (self.app.quit_requested, self.quit)):
            with contextlib.suppress(RuntimeError, TypeError):  # already disconnected
                signal.disconnect(slot)

    def quit(self, stop_service: bool | None = None) -> None:
        """Leave the app; the engine service keeps working unless ``stop_service`` (default: the
        ``[app] quit_stops_engine`` setting), when it checkpoints and stops first (in a thread:
        the GUI stays responsive)."""
        if self.quitting:
            return
        if not shiboken6.isValid(self.tray.status_action):  # this shell's tray is gone: it is not the live one
            self._detach()
            return
        self.quitting = True
        stop = quit_stops_engine() if stop_service is None else stop_service
        self.tray.status_action.setText("Quitting: saving the job…" if stop else "Quitting: the work goes on")
        threading.Thread(target=self._stop_engine, args=(stop,), name="idlegrid-quit", daemon=True).start()

    def _stop_engine(self, stop_service: bool) -> None:
        service = self.service  # a test's in-process service ends with this app
        self.host.stop(stop_service=stop_service or service is not None)
        if service is not None:
            service.stopped.wait(90)
        self.quit_finished.emit()

    def _leave(self) -> None:
        self._detach()
        if self.dashboard is not None:
            self.dashboard.shutdown()
        self.tray.hide()
        self.app.forget_windows()
        if self.history is not None:
            self.history.close()
        self.app.release_single_instance()
        if self._quit_app:
            self.app.quit()


class WalletLocked(AppError):
    """The user cancelled the passphrase of the keystore wallet: nothing can be signed."""

    def __init__(self, keystore: Path) -> None:
        super().__init__(f"the wallet is locked: its passphrase was not given (keystore {keystore})",
                         hint="quit and start idlegrid again to type it")


def _keystore_path() -> Path | None:
    """The keystore file of the wallet, when the key lives in one (not the OS keyring)."""
    from engine.wallet.settings import load as load_wallet

    try:
        return load_wallet().keystore
    except IdlegridError:
        return None  # the engine reports a broken [wallet] section itself


def _lazy_window(module: str, cls: str) -> Callable[[], QWidget]:
    """A factory importing the window's module on first use (Qt windows of other modules)."""

    def build() -> QWidget:
        try:
            window_cls = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as e:
            raise AppError(f"this window is not available in this build ({module}.{cls}: {e})",
                           hint="update idlegrid") from None
        return window_cls()

    return build
