"""The Search tab's candidates table: the rows of a search's report in the CLI table's order
(best first, then those without a result; :func:`app.dashboard.search_data.ranked`), sortable
by each column's value, not its text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from app.dashboard.search_data import Shown
from app.format import eth
from engine.search.results import Row

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
NO_RANK = 10**9          # rows without a result sort after every ranked one


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[Shown], str]
    key: Callable[[Shown], Any]


def _choices(row: Row) -> str:
    return " ".join(f"{k.split('.')[-1]}={v}" for k, v in row.params.items())


COLUMNS: tuple[Column, ...] = (
    Column("#", lambda s: str(s.rank) if s.rank is not None else "–", lambda s: s.rank or NO_RANK),
    Column("Candidate", lambda s: str(s.row.candidate), lambda s: s.row.candidate),
    Column("Arch", lambda s: s.row.arch, lambda s: s.row.arch),
    Column("Fitness", lambda s: f"{s.row.value:.4f}" if s.row.value is not None else "–",
           lambda s: s.row.value if s.row.value is not None else float("-inf")),
    Column("State", lambda s: s.row.state, lambda s: s.row.state),
    Column("Tasks", lambda s: ", ".join(map(str, s.row.tasks)) or "–", lambda s: s.row.tasks),
    Column("Cost", lambda s: eth(s.row.cost_wei), lambda s: s.row.cost_wei),
    Column("Choices", lambda s: _choices(s.row), lambda s: _choices(s.row)),
)
FITNESS_COLUMN = 3
RIGHT_ALIGNED = (0, 1, 3, 6)


class CandidatesModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Shown] = []
        self.metric = "fitness"

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[index.column()].text(self.rows[index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return self.metric.capitalize() if section == FITNESS_COLUMN else COLUMNS[section].title

    def key(self, row: int, column: int) -> Any:
        return COLUMNS[column].key(self.rows[row])

    def set_rows(self, rows: list[Shown], metric: str = "fitness") -> None:
        """Replace the rows; the same candidates in the same order only update their cells."""
        if metric != self.metric:
            self.metric = metric
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, FITNESS_COLUMN, FITNESS_COLUMN)
        if [s.row.candidate for s in rows] == [s.row.candidate for s in self.rows]:
            changed = [i for i, (new, old) in enumerate(zip(rows, self.rows)) if new != old]
            self.rows = rows
            for i in changed:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def candidates(self) -> Sequence[int]:
        return [s.row.candidate for s in self.rows]


class CandidatesSort(QSortFilterProxyModel):
    """Sorts by each column's key (numbers as numbers; wei beyond what a QVariant holds)."""

    def __init__(self, source: CandidatesModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.source = source

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = self.source.key(left.row(), left.column()), self.source.key(right.row(), right.column())
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)
