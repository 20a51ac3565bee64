"""What can go wrong with the history database, each with the fix.

The database holds the user's record of work and money, so no error path ever deletes or
rewrites the file: the hints tell the user what to move away, never the code.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import IdlegridError, UsageError


class HistoryError(IdlegridError):
    """Root of the history errors."""


class HistoryCorrupt(HistoryError):
    """The file is not an SQLite database, or its pages are damaged."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"the history database {path} is unreadable: {detail}",
            hint=f"idlegrid left it untouched; move it away (e.g. `mv {path} {path}.broken`) and idlegrid "
            "starts a new, empty history (your funds are on chain, not in this file)",
        )
        self.path = path


class HistoryTooNew(HistoryError):
    """The file was written by a newer idlegrid whose schema this one does not know."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"the history database {path} has schema version {found}, but this idlegrid knows versions up to {known}",
            hint="upgrade idlegrid to the version that wrote it; this one will not touch the file "
            "(or point IDLEGRID_HOME elsewhere to run this version with a separate history)",
        )
        self.path = path
        self.found = found
        self.known = known


class HistoryUnavailable(HistoryError):
    """The file cannot be opened or written: permissions, a missing disk, a full disk."""

    def __init__(self, path: Path, detail: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"cannot use the history database {path}: {detail}",
            hint=hint or f"check that {path.parent} exists, is writable by you and has free space",
        )
        self.path = path


class HistoryBusy(HistoryError):
    """Another process held a write lock for longer than the busy timeout."""

    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__(
            f"the history database {path} stayed locked by another process for {seconds:g} s",
            hint="another idlegrid (or an SQLite browser) holds it open in a long transaction; close that and retry",
        )
        self.path = path


class HistoryClosed(HistoryError):
    """A History was used after ``close()``."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"the history database {path} was already closed",
                         hint="open it again with History.open()")


class InvalidRecord(HistoryError, UsageError):
    """A value given to the history is of the wrong kind (a typo in a field name, a float for wei)."""


class JournalError(HistoryError):
    """An intent journal call that does not fit the entry's life (begun twice, ended unbegun)."""
