"""The dashboard: a headline strip (what idlegrid does now, what it earned today), then tabs:
Now (current job, device), Earnings, History, Event log, Search (the requester's architecture
searches, :mod:`app.dashboard.search_panel`).

Live values come from :class:`app.state.AppState` (one model for every view) and the bridge;
tables and earnings come from engine.history, re-read only when the database changed (see
:class:`HistoryWatcher`) and only while the window is visible. Ctrl+1..5 switch tabs, Ctrl+P
pauses or resumes. The window fits the screen it opens on. Closing it hides it to the tray
where there is one; without a tray it asks whether to quit, since nothing could reopen it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.application import Application
from app.bridge import EngineBridge
from app.dashboard.earnings_panel import AsyncAction, EarningsPanel
from app.dashboard.event_log import EventLog
from app.dashboard.gpu_panel import GpuPanel
from app.dashboard.history_panel import HistoryPanel
from app.dashboard.history_watch import HistoryWatcher
from app.dashboard.job_panel import JobPanel
from app.dashboard.search_data import searches_folder
from app.dashboard.search_panel import SearchPanel
from app.format import eth
from app.price_watch import PriceWatch, profile_feed
from app.profit import (
    EarningsSettings,
    Period,
    PowerMeter,
    load_earnings_settings,
    per_hour_and_day,
    work_seconds,
)
from app.state import AppState, Now
from app.window_fit import fit_to_screen
from engine.events import Kind
from engine.gpu.monitor import GpuBackend
from engine.history import EARNED
from engine.network.price_feed import PriceFeed

EARNINGS_DAYS = 30
EARNED_KINDS = EARNED  # the ledger's earned kinds: what "Earned" and the profit count
WANTED_W, WANTED_H = 960, 700
EVENTS_FOR_WORK_TIME = 5000


class DashboardWindow(QMainWindow):
    """``history`` is an engine.history.History (None: no history to show yet)."""

    def __init__(self, app: Application, bridge: EngineBridge, *, state: AppState | None = None,
                 history: Any | None = None, history_path: Path | None = None,
                 gpu_backend: Callable[[], GpuBackend] | None = None,
                 withdraw: AsyncAction | None = None, gas_estimate: AsyncAction | None = None,
                 tray_visible: Callable[[], bool] = lambda: False,
                 toggle_pause: Callable[[], None] | None = None,
                 destination: Callable[[], str] = lambda: "your wallet",
                 worker_status: Callable[[], Any] | None = None,
                 price_feed: Callable[[Any], PriceFeed | None] = profile_feed,
                 search_root: Path | None = None) -> None:
        super().__init__()
        self.app = app
        self.history = history
        self.network: Any | None = None
        self.tray_visible = tray_visible
        self.quitting = False
        self.state = state or AppState(bridge, self)
        if worker_status is not None:
            self.state.status = worker_status
        self.power = PowerMeter()
        self.price_feed = price_feed
        self.prices = PriceWatch(self)
        self.prices.updated.connect(self._on_quote)
        self.paid_last_hour_wei = 0
        self.setWindowTitle("idlegrid")
        self.setObjectName("dashboard")
        self.headline = QLabel("Starting")
        self.headline.setObjectName("headline")
        self.headline.setAccessibleName("What idlegrid is doing now")
        font = QFont(self.headline.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setWordWrap(True)
        self.summary = QLabel("Earned today: –")
        self.summary.setObjectName("headlineSummary")
        self.summary.setAccessibleName("Earnings summary")
        self.summary.setWordWrap(True)
        self.job_panel = JobPanel(self.state)
        self.gpu_panel = GpuPanel(self.state, gpu_backend, self.power)
        self.history_panel = HistoryPanel()
        self.earnings_panel = EarningsPanel(bridge, withdraw=withdraw, gas_estimate=gas_estimate,
                                            destination=destination)
        self.event_log = EventLog(bridge)
        self.search_panel = SearchPanel(search_root or searches_folder())
        now_tab = QWidget()
        top = QHBoxLayout(now_tab)
        top.addWidget(self.job_panel, 3)
        top.addWidget(self.gpu_panel, 2)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Dashboard sections")
        for widget, title in ((now_tab, "&Now"), (self.earnings_panel, "&Earnings"),
                              (self.history_panel, "&History"), (self.event_log, "Event &log"),
                              (self.search_panel, "&Search")):
            self.tabs.addTab(widget, title)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.headline)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(body)
        self._menu()
        self._shortcuts(toggle_pause)
        self.state.changed.connect(self.show_now)
        self.show_now(self.state.now)
        self.setMinimumSize(560, 420)
        fit_to_screen(self, WANTED_W, WANTED_H)
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
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.app.quit_requested.emit)
        menu.addAction(quit_action)

    def _shortcuts(self, toggle_pause: Callable[[], None] | None) -> None:
        for i in range(self.tabs.count()):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self)
            shortcut.activated.connect(lambda i=i: self.tabs.setCurrentIndex(i))
        if toggle_pause is not None:
            QShortcut(QKeySequence("Ctrl+P"), self).activated.connect(toggle_pause)

    def show_now(self, now: Now) -> None:
        self.headline.setText(now.headline)
        self.history_panel.set_live(now.job if now.working else None)

    def set_network(self, network: Any | None) -> None:
        """The chain and market whose earnings to show (known once the worker runs)."""
        self.network = network
        self.refresh()

    def refresh(self) -> None:
        """Re-read jobs and earnings from the history database."""
        if self.history is None:
            return
        self.history_panel.set_jobs(self.history.jobs(limit=500))
        if self.network is None:
            return
        chain, market = self.network.chain_id, self.network.market
        self.earnings_panel.set_earnings(self.history.earnings(chain, market))
        self.earnings_panel.set_per_day(self.history.earnings_per_day(chain, market, days=EARNINGS_DAYS))
        self.show_periods(load_earnings_settings())

    def show_periods(self, settings: EarningsSettings, now: float | None = None) -> None:
        """Today, this week, all time, and the last hour's pay, from the ledger and the event log.
        ``now`` (default: the clock) decides where today and this week begin."""
        assert self.history is not None and self.network is not None
        chain, market = self.network.chain_id, self.network.market
        now = time.time() if now is None else now
        midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        starts = {"today": midnight.timestamp(),
                  "week": (midnight - timedelta(days=midnight.weekday())).timestamp(), "all": 0.0}
        jobs = [(e.task_id, str(e.data.get("state") or ""), e.at)
                for e in self.history.events(limit=EVENTS_FOR_WORK_TIME) if e.kind is Kind.JOB]
        watts, source = self.power.watts()
        periods = {}
        for name, since in starts.items():
            sums = self.history.ledger_since(chain, market, since)
            periods[name] = Period(sum(sums[k] for k in EARNED_KINDS), sums["gas"],
                                   work_seconds(jobs, since, now), watts)
        hour = self.history.ledger_since(chain, market, now - 3600)
        self.paid_last_hour_wei = sum(hour[k] for k in EARNED_KINDS)
        self._follow_feed(settings)
        self.earnings_panel.set_periods(periods, settings, self.paid_last_hour_wei, source)
        self._show_summary()

    def _follow_feed(self, settings: EarningsSettings) -> None:
        """Without the user's own ETH price, follow the network profile's feed (if it names one)."""
        self.prices.use(None if settings.eth_price > 0 else self.price_feed(self.network))
        self.earnings_panel.quote = self.prices.quote
        self.prices.poll()

    def _on_quote(self, quote: Any) -> None:
        self.earnings_panel.set_quote(quote)
        self._show_summary()

    def _show_summary(self) -> None:
        today = self.earnings_panel.profits.get("today")
        if today is None:
            return
        per_hour, _ = per_hour_and_day(self.paid_last_hour_wei)
        self.summary.setText(f"Earned today: {eth(today.reward_wei)}   ·   net profit today: {eth(today.net_wei)}"
                             f"   ·   about {eth(per_hour)} per hour")

    def showEvent(self, event: Any) -> None:
        if self.watcher is not None:
            self.watcher.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
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
        self.search_panel.shutdown()
        self.gpu_panel.close_backend()
