"""The dashboard window: current job and GPU on top; history, earnings and the event log below.

Live values come from the bridge's signals; tables come from engine.history, re-read only when
the database changed (see :class:`HistoryWatcher`) and only while the window is visible.
Closing the window hides it to the tray where there is one; without a tray (the desktop has
none, or offscreen) it asks whether to quit idlegrid, since nothing would be left to reopen it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from app.application import Application
from app.bridge import EngineBridge
from app.dashboard.earnings_panel import AsyncAction, EarningsPanel
from app.dashboard.event_log import EventLog
from app.dashboard.gpu_panel import GpuPanel
from app.dashboard.history_panel import HistoryPanel
from app.dashboard.history_watch import HistoryWatcher
from app.dashboard.job_panel import JobPanel
from app.engine_host import NetworkInfo
from engine.gpu.monitor import GpuBackend

EARNINGS_DAYS = 30


class DashboardWindow(QMainWindow):
    """``history`` is an engine.history.History (None: no history to show yet)."""

    def __init__(self, app: Application, bridge: EngineBridge, *, history: Any | None = None,
                 history_path: Path | None = None, gpu_backend: Callable[[], GpuBackend] | None = None,
                 withdraw: AsyncAction | None = None, gas_estimate: AsyncAction | None = None,
                 tray_visible: Callable[[], bool] = lambda: False,
                 worker_status: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.app = app
        self.history = history
        self.network: NetworkInfo | None = None
        self.tray_visible = tray_visible
        self.quitting = False
        self.setWindowTitle("idlegrid")
        self.setObjectName("dashboard")
        self.resize(980, 720)
        self.job_panel = JobPanel(bridge, status=worker_status)
        self.gpu_panel = GpuPanel(bridge, gpu_backend)
        self.history_panel = HistoryPanel()
        self.earnings_panel = EarningsPanel(bridge, withdraw=withdraw, gas_estimate=gas_estimate)
        self.event_log = EventLog(bridge)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.history_panel, "History")
        self.tabs.addTab(self.earnings_panel, "Earnings")
        self.tabs.addTab(self.event_log, "Event log")
        top = QHBoxLayout()
        top.addWidget(self.job_panel, 3)
        top.addWidget(self.gpu_panel, 2)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top, 3)
        layout.addWidget(self.tabs, 2)
        self.setCentralWidget(body)
        self._menu()
        self.watcher: HistoryWatcher | None = None
        if history is not None and history_path is not None:
            self.watcher = HistoryWatcher(history_path, parent=self)
            self.watcher.changed.connect(self.refresh)
            self.event_log.load(history.events(limit=200))

    def _menu(self) -> None:
        menu = self.menuBar().addMenu("&idlegrid")
        for text, name in (("&Settings…", "settings"), ("&Wallet…", "wallet")):
            action = QAction(text, self)
            action.triggered.connect(lambda _=False, n=name: self.app.open_window(n))
            menu.addAction(action)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.triggered.connect(self.app.quit_requested.emit)
        menu.addAction(quit_action)

    def set_network(self, network: NetworkInfo | None) -> None:
        """The chain and market whose earnings to show (known once the worker runs)."""
        self.network = network
        self.refresh()

    def refresh(self) -> None:
        """Re-read jobs and earnings from the history database."""
        if self.history is None:
            return
        self.history_panel.set_jobs(self.history.jobs(limit=500))
        if self.network is not None:
            n = self.network
            self.earnings_panel.set_earnings(self.history.earnings(n.chain_id, n.market))
            self.earnings_panel.set_per_day(self.history.earnings_per_day(n.chain_id, n.market, days=EARNINGS_DAYS))

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        if self.watcher is not None:
            self.watcher.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:  # noqa: N802
        if self.watcher is not None:
            self.watcher.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.quitting:
            event.accept()
            return
        if self.tray_visible():
            event.ignore()
            self.hide()
            return
        answer = QMessageBox.question(
            self, "Quit idlegrid?",
            "There is no system tray to keep idlegrid running in the background.\n"
            "Quit idlegrid? The current job is checkpointed and continues at the next start.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        event.ignore()
        if answer == QMessageBox.StandardButton.Yes:
            self.app.quit_requested.emit()

    def shutdown(self) -> None:
        """Stop timers and release the GPU backend (on quit); closing no longer asks."""
        self.quitting = True
        if self.watcher is not None:
            self.watcher.close()
        self.gpu_panel.close_backend()
