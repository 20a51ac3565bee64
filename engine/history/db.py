"""The SQLite file under the history: one connection per thread, WAL, short transactions, migrations.

The worker writes from its own thread while the GUI reads from the main thread (and the CLI
from another process), so every thread gets its own connection; WAL lets readers go on while
one writer commits. Writes start with ``BEGIN IMMEDIATE``: in WAL mode a read transaction that
later tries to write fails at once with SQLITE_BUSY instead of waiting, so writers take the
write lock up front and wait for it under ``busy_timeout``.

Durability is chosen per write. Connections run with ``synchronous = NORMAL``: in WAL mode a
commit is then not fsync'd, and a power cut (never a process crash) may lose the last commits,
but only a suffix of them, never a middle one, and never corrupts the file. ``write(durable=True)``
(the transaction journal, before a broadcast) commits with ``FULL``, whose fsync of the WAL also
makes every earlier commit durable. So whatever a power cut takes was written after the last
broadcast, and losing it is the same as a crash just before it, which every role recovers from
(the journal and the chain). Each FULL commit costs an fsync, about 7 ms while checkpoints are
being written; a worker used to pay seven of them around one commit transaction (issue 19).

Every ``sqlite3`` error is translated at this boundary into a :mod:`engine.history.errors` type.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from engine.history.errors import (
    HistoryBusy,
    HistoryClosed,
    HistoryCorrupt,
    HistoryError,
    HistoryTooNew,
    HistoryUnavailable,
)
from engine.history.schema import MIGRATIONS, VERSION_TABLE

BUSY_TIMEOUT_S = 10.0

# primary SQLite result codes (the low byte of an extended code)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB, _PERM = 5, 6, 8, 10, 11, 13, 14, 26, 3


def translate(error: sqlite3.Error, path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> HistoryError:
    """The history error a raw ``sqlite3`` error stands for, with what to do about it."""
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    detail = str(error)
    if code in (_CORRUPT, _NOTADB):
        return HistoryCorrupt(path, detail)
    if code in (_BUSY, _LOCKED):
        return HistoryBusy(path, busy_timeout_s)
    if code == _FULL:
        return HistoryUnavailable(path, detail, hint=f"free some space on the disk that holds {path}")
    if code in (_READONLY, _CANTOPEN, _PERM, _IOERR):
        return HistoryUnavailable(path, detail)
    return HistoryError(f"history database {path}: {detail}")


class Database:
    """Thread-local connections to one SQLite file, migrated to the current schema on open."""

    def __init__(self, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only  # opened with SQLite's mode=ro: no statement can change the file
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False

    def _translate(self, error: sqlite3.Error) -> HistoryError:
        if self._closed:  # another thread closed the connection under this call
            return HistoryClosed(self.path)
        return translate(error, self.path, self.busy_timeout_s)

    # connections ------------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self._closed:
            raise HistoryClosed(self.path)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.commits = 0
            with self._lock:
                self._forget_finished_threads()
                self._connections.append((threading.current_thread(), conn))
        return conn

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise HistoryUnavailable(self.path, f"cannot create its folder: {e.strerror}") from None
        target = f"file:{quote(str(self.path.resolve()))}?mode=ro" if self.read_only else str(self.path)
        try:
            # autocommit mode: transactions are explicit (BEGIN IMMEDIATE for writes)
            conn = sqlite3.connect(target, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False,
                                   uri=self.read_only)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            if not self.read_only:
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as e:
            raise self._translate(e) from None
        return conn

    def _forget_finished_threads(self) -> None:
        """Close connections of threads that ended, so short-lived threads do not leak them."""
        alive = []
        for thread, conn in self._connections:
            if thread.is_alive():
                alive.append((thread, conn))
            else:
                conn.close()
        self._connections = alive

    def close(self) -> None:
        """Close every thread's connection; later calls raise :class:`HistoryClosed`."""
        with self._lock:
            self._closed = True
            for _, conn in self._connections:
                conn.close()
            self._connections.clear()

    # transactions ------------------------------------------------------------------------------

    @contextmanager
    def write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One short write transaction; rolled back if the body raises. ``durable``: on disk
        (fsync'd, with everything committed before it) when this returns, for a write that must
        survive a power cut because a side effect outside the file follows it."""
        conn = self.connection()
        try:
            if durable:
                conn.execute("PRAGMA synchronous = FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self._translate(e) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self._translate(e) from None
                raise
        finally:
            if durable and not self._closed:
                with suppress(sqlite3.Error):
                    conn.execute("PRAGMA synchronous = NORMAL")
        self._local.commits += 1

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs (a deferred transaction takes no write lock)."""
        conn = self.connection()
        try:
            conn.execute("BEGIN")
            yield conn
        except sqlite3.Error as e:
            raise self._translate(e) from None
        finally:
            _end_read(conn)

    def data_version(self) -> int:
        """A number that changes whenever anyone commits to the file (cheap: no disk read).

        ``PRAGMA data_version`` moves on commits by *other* connections; this thread's own
        commits are counted separately, so the sum moves on every change.
        """
        conn = self.connection()
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as e:
            raise self._translate(e) from None
        return version + int(self._local.commits)

    # schema ------------------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.read() as conn:
            return _version(conn)

    def _ensure_wal(self) -> None:
        """WAL is a property of the file: set once (that needs a lock), then only checked.

        Two processes creating the same file can both find it in rollback mode and both ask
        for the switch at once; SQLite then answers one of them "busy" at once, without waiting
        (a lock upgrade that would deadlock), or leaves the mode unchanged. So the switch is
        retried until the file is in WAL, by whichever process, for up to the busy timeout.
        Statements are read to their end so no half-read cursor keeps a shared lock.
        """
        conn = self.connection()
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                if str(conn.execute("PRAGMA journal_mode").fetchall()[0][0]).lower() == "wal":
                    return
                if str(conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]).lower() == "wal":
                    return
                last: sqlite3.Error | None = None
            except sqlite3.OperationalError as e:  # busy or locked: the other process is switching it
                last = e
            except sqlite3.Error as e:
                raise self._translate(e) from None
            if time.monotonic() > deadline:
                raise self._translate(last or sqlite3.OperationalError("database is locked")) from None
            time.sleep(0.02)

    def migrate(self) -> int:
        """Bring the file to the current schema, one step per transaction; the version reached.

        A file from a newer idlegrid raises :class:`HistoryTooNew` before anything is written,
        not even the switch to WAL (which is kept in the file, so it is done once, here).
        """
        known = len(MIGRATIONS)
        found = self.schema_version()
        if found > known:
            raise HistoryTooNew(self.path, found, known)
        self._ensure_wal()
        if found == known:  # the usual case: opening takes no write lock
            return found
        while True:
            with self.write() as conn:
                conn.execute(VERSION_TABLE)
                version = _version(conn)
                if version > known:
                    raise HistoryTooNew(self.path, version, known)
                if version == known:
                    return version
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version, migrated_at) VALUES (?, ?)",
                             (version + 1, time.time()))


def _end_read(conn: sqlite3.Connection) -> None:
    """End a read transaction; nothing was written, so a failure to end it loses nothing."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)
