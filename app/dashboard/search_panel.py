"""The Search tab: the architecture searches ``idlegrid search`` runs, followed while they run.

It lists the searches in the data folder (``<data dir>/searches/<name>``) and, for the one
selected, shows candidates done, in flight and dropped against the budget, the best fitness
and its spec, the ETH spent (rewards, fees, gas), the candidates table and the best fitness
against candidates evaluated. The search's state is read read-only on a thread
(:mod:`app.dashboard.search_watch`), only while the tab is on screen; the exports write what
``idlegrid search`` writes (results.csv, results.json). A file that is not a search's state
gives one line in the tab, never a dialog or a crash. The search itself runs from the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.charts import LineChart
from app.dashboard.search_data import START_COMMAND, Outcome, Snapshot
from app.dashboard.search_model import CandidatesModel, CandidatesSort
from app.dashboard.search_watch import SearchWatcher
from app.format import eth
from engine.search.results import json_text, to_csv


def empty_text(folder: Path) -> str:
    """What the tab says before there is a search: what one is, and the command to start one."""
    return ("No architecture search yet. A search posts candidate models of a search space as market tasks, "
            "each with its own reward, and evolves the best of their verified results; it runs from the "
            "command line, and this tab follows it while it runs. To start one on the local test network:\n\n"
            f"    {START_COMMAND}\n\n"
            f"Searches kept in {folder} appear here (see docs/search.md).")


FIT_ROWS = 200          # rows measured to fit the columns


class Export(str, Enum):
    CSV = "csv"
    JSON = "json"


AskPath = Callable[[QWidget, Export, Path], Path | None]


def ask_save_path(parent: QWidget, kind: Export, suggested: Path) -> Path | None:
    """The file to write (None: cancelled), asked with Qt's save dialog."""
    name, _ = QFileDialog.getSaveFileName(parent, f"Export the search as {kind.value.upper()}", str(suggested),
                                          f"{kind.value.upper()} (*.{kind.value})")
    return Path(name) if name else None


class SearchPanel(QWidget):
    """The searches in ``root`` (``<data dir>/searches``); ``ask_path`` asks where to export."""

    def __init__(self, root: Path, *, ask_path: AskPath = ask_save_path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.ask_path = ask_path
        self.snapshot: Snapshot | None = None
        self.watcher = SearchWatcher(root, parent=self)
        self.watcher.outcome.connect(self.show_outcome)
        self.chooser = QComboBox()
        self.chooser.setAccessibleName("Search")
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.chooser.activated.connect(self._on_chosen)
        label = QLabel("Search:")
        label.setBuddy(self.chooser)
        self.export_buttons = {kind: QPushButton(f"Export {kind.value.upper()}…") for kind in Export}
        top = QHBoxLayout()
        top.addWidget(label)
        top.addWidget(self.chooser, 1)
        for kind, button in self.export_buttons.items():
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, k=kind: self.export(k))
            top.addWidget(button)
        self.error_line = self._label("searchError", "Search problem")
        self.note = self._label("searchNote", "Export result")
        self.progress = self._label("searchProgress", "Search progress")
        self.best = self._label("searchBest", "Best candidate")
        self.cost = self._label("searchCost", "ETH spent")
        self.more = self._label("searchMore", "Rows not shown")
        self.model = CandidatesModel(self)
        self.sorted = CandidatesSort(self.model, self)
        self.table = QTableView()
        self.table.setModel(self.sorted)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)   # fitted after a reset only: fitting
        header.setResizeContentsPrecision(FIT_ROWS)                       # at every layout took seconds
        header.setStretchLastSection(True)
        self.model.modelReset.connect(self.table.resizeColumnsToContents)
        self.table.setAccessibleName("Candidates")
        self.chart = LineChart("Best fitness so far", "candidates", fit_y=True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        for widget in (self.progress, self.best, self.cost):
            body.addWidget(widget)
        body.addWidget(split, 1)
        body.addWidget(self.more)
        self.empty = QLabel(empty_text(root))
        self.empty.setObjectName("searchEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(content)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error_line)
        layout.addWidget(self.note)
        layout.addWidget(self.pages, 1)

    @staticmethod
    def _label(name: str, accessible: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        return label

    # ------------------------------------------------------------ reading

    def show_outcome(self, outcome: Outcome) -> None:
        self._list(outcome)
        if outcome.path is None:
            self.pages.setCurrentWidget(self.empty)
            self._show(None)
            self._say(self.error_line, "")
            return
        self.pages.setCurrentIndex(1)
        if self.watcher.wanted is None:
            self.watcher.follow(outcome.path)      # a newer search appearing later does not take over
        if outcome.unchanged:
            return
        self._say(self.error_line, outcome.error or "")
        self._show(outcome.snapshot)

    def _list(self, outcome: Outcome) -> None:
        paths = [str(p) for p in outcome.searches]
        if [self.chooser.itemData(i) for i in range(self.chooser.count())] != paths:
            self.chooser.clear()
            for path in outcome.searches:
                self.chooser.addItem(path.parent.name, str(path))
                self.chooser.setItemData(self.chooser.count() - 1, str(path), Qt.ItemDataRole.ToolTipRole)
        self.chooser.setEnabled(bool(paths))
        if outcome.path is not None:
            self.chooser.setCurrentIndex(self.chooser.findData(str(outcome.path)))

    def _on_chosen(self, index: int) -> None:
        data = self.chooser.itemData(index)
        self.watcher.select(Path(data) if data else None)

    def _show(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        for button in self.export_buttons.values():
            button.setEnabled(snapshot is not None)
        if snapshot is None:
            self.model.set_rows([])
            for label in (self.progress, self.best, self.cost, self.more):
                self._say(label, "")
            self.chart.clear()
            return
        report = snapshot.report
        self.model.set_rows(snapshot.rows, report.metric)
        budget = f"budget {snapshot.budget}" if snapshot.budget is not None else "budget not recorded"
        self._say(self.progress, f"Candidates: {snapshot.done} done, {snapshot.in_flight} in flight, "
                                 f"{snapshot.dropped} dropped; {budget}   ·   search {report.space}, "
                                 f"{report.metric} ({report.goal.value})")
        best = snapshot.best
        self._say(self.best, "Best: no result yet" if best is None or best.value is None else
                  f"Best {report.metric}: {best.value:.4f} (candidate {best.candidate})\n{snapshot.best_spec}")
        totals = snapshot.totals
        self._say(self.cost, f"Spent: {eth(totals['cost_wei'])} (rewards {eth(totals['reward_wei'])}, "
                             f"fees {eth(totals['fees_wei'])}, gas {eth(totals['gas_wei'])})")
        total = len(report.rows)
        self._say(self.more, "" if len(snapshot.rows) == total else
                  f"The table shows the first {len(snapshot.rows):,} of {total:,} candidates; the exports have all.")
        self.chart.title = f"Best {report.metric} so far"
        self.chart.setAccessibleName(self.chart.title)
        self.chart.set_points([float(n) for n, _ in snapshot.curve], [v for _, v in snapshot.curve])

    @staticmethod
    def _say(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    # ------------------------------------------------------------ exporting

    def export(self, kind: Export) -> Path | None:
        """Ask where, then write the shown search as ``idlegrid search`` writes results.csv or
        results.json; the written file (None: cancelled, nothing shown, or it failed: said why)."""
        snapshot = self.snapshot
        if snapshot is None:
            return None
        target = self.ask_path(self, kind, snapshot.path.parent / f"results.{kind.value}")
        if target is None:
            return None
        text = to_csv(snapshot.report) if kind is Export.CSV else json_text(snapshot.report)
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            self._say(self.note, f"Could not write {target}: {e.strerror or e}")
            return None
        self._say(self.note, f"Wrote {len(snapshot.report.rows)} candidates to {target}")
        return target

    # ------------------------------------------------------------ visibility

    def showEvent(self, event: Any) -> None:
        self.watcher.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self.watcher.stop()
        super().hideEvent(event)

    def shutdown(self) -> None:
        self.watcher.close()
