"""The history tab: every job this machine took part in, sortable, filterable, with details."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.dashboard.history_model import RECORD_ROLE, JobFilter, JobsModel, job_key
from app.format import eth


def job_details(record: Any) -> str:
    """The detail pane's text: identity, commitment, transactions, outcome, error."""
    lines = [
        f"task {record.task_id} ({record.role}) on chain {record.chain_id}, market {record.market}",
        f"name: {record.name or '?'}",
        f"spec sha256: {record.spec_sha256 or '?'}",
        f"state: {record.state or '?'}    outcome: {record.outcome or '–'}",
        f"steps: {record.steps_done or 0:,}/{record.steps or 0:,}    loss: {record.loss if record.loss is not None else '–'}",
        f"merkle root: {record.merkle_root or '–'}",
        f"reward: {eth(record.reward)}    stake: {eth(record.stake)}    gas paid: {eth(record.gas_paid)}",
    ]
    if record.metrics:
        lines.append(f"metrics: {json.dumps(record.metrics, sort_keys=True)}")
    if record.txs:
        lines.append("transactions:")
        lines += [f"  {action}: {tx}" for action, tx in sorted(record.txs.items())]
    if record.error:
        lines.append(f"error: {record.error}")
    return "\n".join(lines)


class HistoryPanel(QWidget):
    """Filter box, jobs table, detail pane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = JobsModel(self)
        self.proxy = JobFilter(self.model, self)
        self.filter = QLineEdit(placeholderText="Filter jobs (name, state, task id, …)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.detail = QPlainTextEdit(readOnly=True, placeholderText="Select a job to see its details")
        self.detail.setObjectName("jobDetail")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(split)
        self._selected: tuple | None = None

    def set_jobs(self, jobs: list[Any]) -> None:
        self.model.set_jobs(jobs)
        self._restore_selection()

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        record = rows[0].data(RECORD_ROLE) if rows else None
        self._selected = job_key(record) if record is not None else None
        self.detail.setPlainText(job_details(record) if record is not None else "")

    def _restore_selection(self) -> None:
        if self._selected is None:
            return
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            record = index.data(RECORD_ROLE)
            if job_key(record) == self._selected:
                self.table.selectRow(row)
                self.detail.setPlainText(job_details(record))
                return
