"""Local history in SQLite (WAL): jobs, the intent journal, the earnings ledger, the event log.

``History.open()`` is all a caller needs; see :mod:`engine.history.store`. Qt-free and
torch-free, so the GUI process can read it directly.
"""

from engine.history.errors import (
    HistoryBusy,
    HistoryClosed,
    HistoryCorrupt,
    HistoryError,
    HistoryTooNew,
    HistoryUnavailable,
    InvalidRecord,
    JournalError,
)
from engine.history.ledger import EARNED, KIND_INFO, PENDING_STATES, Flow, LedgerKind
from engine.history.ledger import KINDS as LEDGER_KINDS
from engine.history.records import Earnings, JobRecord, JournalEntry
from engine.history.store import History, default_path

__all__ = [
    "EARNED",
    "KIND_INFO",
    "LEDGER_KINDS",
    "PENDING_STATES",
    "Earnings",
    "Flow",
    "History",
    "HistoryBusy",
    "HistoryClosed",
    "HistoryCorrupt",
    "HistoryError",
    "HistoryTooNew",
    "HistoryUnavailable",
    "InvalidRecord",
    "JobRecord",
    "JournalEntry",
    "JournalError",
    "LedgerKind",
    "default_path",
]
