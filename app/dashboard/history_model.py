"""The jobs table: a QAbstractTableModel over engine.history's JobRecords, sortable and filterable.

Each column has a display text and a sort key, so sorting by reward or loss is numeric, not
alphabetical. Keys are compared in Python (wei amounts exceed what a QVariant integer holds).
:class:`JobFilter` matches the filter text against every column.
``set_jobs`` keeps rows that did not change, so a refresh does not lose the selection.
``set_live`` lays the current job of the app's one state model (``app.state``) over its row:
the history database is written at checkpoints and state changes, so its step and loss lag the
job panel's, and the two once disagreed on screen ("83 %" above a row saying 300/600).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from app.format import eth
from app.state import Job

RECORD_ROLE = Qt.ItemDataRole.UserRole
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index: the parent of every row in a flat table


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


def _loss(v: float | None) -> str:
    return f"{v:.4f}" if v is not None else ""


def _steps(r: Any) -> str:
    return f"{r.steps_done or 0:,}/{r.steps:,}" if r.steps else ""


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[Any], str]
    key: Callable[[Any], Any]


WORKER_ROLE = "worker"
STEPS_COLUMN, LOSS_COLUMN = 5, 6

COLUMNS: tuple[Column, ...] = (
    Column("Task", lambda r: str(r.task_id), lambda r: r.task_id),
    Column("Name", lambda r: r.name or "", lambda r: (r.name or "").lower()),
    Column("Role", lambda r: r.role, lambda r: r.role),
    Column("State", lambda r: r.state or "", lambda r: r.state or ""),
    Column("Outcome", lambda r: r.outcome or "", lambda r: r.outcome or ""),
    Column("Steps", _steps, lambda r: (r.steps_done or 0, r.steps or 0)),
    Column("Loss", lambda r: _loss(r.loss), lambda r: r.loss if r.loss is not None else float("inf")),
    Column("Reward", lambda r: eth(r.reward) if r.reward is not None else "", lambda r: r.reward or 0),
    Column("Updated", lambda r: _when(r.updated_at), lambda r: r.updated_at or 0.0),
)


def job_key(record: Any) -> tuple[int, str, int, str]:
    return (record.chain_id, record.market, record.task_id, record.role)


class JobsModel(QAbstractTableModel):
    """Rows are JobRecords (engine.history), newest first as given."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._jobs: list[Any] = []
        self._live: Job | None = None

    def _shown(self, record: Any) -> Any:
        """The record as shown: the live job's step and loss over the row it is training."""
        live = self._live
        if live is None or record.role != WORKER_ROLE or record.task_id != live.task_id:
            return record
        return _Overlay(record, live)

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record, column = self._jobs[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(self._shown(record))
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].title
        return None

    def record(self, row: int) -> Any:
        return self._jobs[row]

    def set_live(self, job: Job | None) -> None:
        """The job being trained now (None between jobs): its row shows the live step and loss."""
        if job == self._live:
            return
        tasks = {j.task_id for j in (job, self._live) if j is not None}
        self._live = job
        for row, record in enumerate(self._jobs):
            if record.role == WORKER_ROLE and record.task_id in tasks:
                self.dataChanged.emit(self.index(row, STEPS_COLUMN), self.index(row, LOSS_COLUMN))

    def set_jobs(self, jobs: Sequence[Any]) -> None:
        """Replace the rows; same keys in the same order only update their cells."""
        jobs = list(jobs)
        if [job_key(j) for j in jobs] == [job_key(j) for j in self._jobs]:
            changed = [i for i, (new, old) in enumerate(zip(jobs, self._jobs)) if new != old]
            self._jobs = jobs
            for row in changed:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._jobs = jobs
        self.endResetModel()


class _Overlay:
    """A JobRecord whose steps and loss are the live job's (never further back than the row's)."""

    def __init__(self, record: Any, live: Job) -> None:
        self._record = record
        self.steps = live.steps or record.steps
        self.steps_done = max(live.step, record.steps_done or 0)
        self.loss = live.loss if live.loss is not None else record.loss

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)


class JobFilter(QSortFilterProxyModel):
    """Sorts by each column's key and keeps rows where any column contains the filter text."""

    def __init__(self, source: JobsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.source = source
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def lessThan(self, left: Index, right: Index) -> bool:
        key = COLUMNS[left.column()].key
        a, b = key(self.source.record(left.row())), key(self.source.record(right.row()))
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)
