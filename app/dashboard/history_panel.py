"""The history tab: every job this machine took part in, sortable, filterable, with details."""

from __future__ import annotations

import json
from datetime import datetime
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
from app.format import chain_words, duration, eth
from app.state import Job

OUTCOME_WORDS = {
    "paid": "Paid", "slashed": "Lost: a jury ruled against the result (stake slashed)",
    "expired": "Lost: the deadline passed before the result was committed", "upheld": "Paid: won a dispute",
    "void": "Stake returned, no reward: no jury reached a verdict on a dispute (the task reopened)",
}
STATE_WORDS = {
    "claiming": "Claiming the task", "claimed": "Claimed, about to train", "training": "Training",
    "uploaded": "Trained, uploading the checkpoints", "submitted": "Result sent",
    "committed": "Waiting for the challenge window to close", "challenged": "Challenged: a jury will re-run it",
    "disputed": "In dispute", "accepted": "Upheld by a jury, waiting to be paid", "paid": "Paid", "checked": "Checked",
}


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "–"


def job_details(record: Any) -> str:
    """The detail pane: what was trained, how long, paid or pending (until when), audits; then
    the hashes, transactions and ids under "Advanced"."""
    from app.state import task_words

    what = task_words(record.name or "").capitalize()
    role = "as the worker" if record.role == "worker" else f"as the {record.role}"
    status = OUTCOME_WORDS.get(record.outcome or "", STATE_WORDS.get(record.state or "", record.state or "unknown"))
    lines = [f"{what} (task {record.task_id}, {role})", f"Status: {status}"]
    if record.steps:
        lines.append(f"Progress: {record.steps_done or 0:,} of {record.steps:,} steps"
                     + (f", final loss {record.loss:.4f}" if record.loss is not None else ""))
    if record.started_at and record.finished_at:
        lines.append(f"Took {duration(record.finished_at - record.started_at)} from claim to the end "
                     f"({_when(record.started_at)} to {_when(record.finished_at)})")
    elif record.started_at:
        lines.append(f"Started {_when(record.started_at)}")
    window_end = (record.detail or {}).get("challenge_deadline") or (record.detail or {}).get("window_ends_at")
    if record.state in ("committed", "accepted", "submitted") and window_end:
        lines.append(f"Paid after the challenge window closes, about {_when(float(window_end))}")
    audits = (record.metrics or {}).get("audits") or (record.detail or {}).get("audits")
    if audits is not None:
        lines.append(f"Checked by {audits} audit{'s' if audits != 1 else ''}")
    lines.append(f"Reward: {eth(record.reward)}    fees paid: {eth(record.gas_paid)}"
                 + (f"    stake (returned when paid, not earnings): {eth(record.stake)}" if record.stake else ""))
    if record.error:
        lines.append(f"Problem: {record.error}")
    lines += ["", "Advanced", f"network {chain_words(record.chain_id)}, market {record.market}",
              f"spec sha256: {record.spec_sha256 or '–'}", f"merkle root: {record.merkle_root or '–'}",
              f"state: {record.state or '–'}    outcome: {record.outcome or '–'}"]
    if record.metrics:
        lines.append(f"metrics: {json.dumps(record.metrics, sort_keys=True)}")
    if record.txs:
        lines.append("transactions:")
        lines += [f"  {action}: {tx}" for action, tx in sorted(record.txs.items())]
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
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.table.setMinimumHeight(160)
        self.table.setAccessibleName("Jobs")
        self.detail.setAccessibleName("Job details")
        self.filter.setAccessibleName("Filter jobs")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(split)
        self._selected: tuple | None = None
        self._shown: tuple | None = None  # the job whose details are on screen

    def set_jobs(self, jobs: list[Any]) -> None:
        self.model.set_jobs(jobs)
        self._restore_selection()

    def set_live(self, job: Job | None) -> None:
        """The job training now, from the app's state model (None between jobs)."""
        self.model.set_live(job)

    def _on_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        record = rows[0].data(RECORD_ROLE) if rows else None
        self._selected = job_key(record) if record is not None else None
        self._show_details(record)

    def _show_details(self, record: Any) -> None:
        """New text only when it changed; a refresh of the same job keeps the reader's place."""
        text = job_details(record) if record is not None else ""
        if text == self.detail.toPlainText():
            return
        key = job_key(record) if record is not None else None
        bar = self.detail.verticalScrollBar()
        kept = bar.value() if key == self._shown else 0
        self._shown = key
        self.detail.setPlainText(text)
        bar.setValue(min(kept, bar.maximum()))

    def _restore_selection(self) -> None:
        if self._selected is None:
            return
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            record = index.data(RECORD_ROLE)
            if job_key(record) == self._selected:
                self.table.selectRow(row)
                self._show_details(record)
                return
