""":class:`History`: the one object the worker, verifier, requester, CLI and GUI use.

Each method is one short transaction on the calling thread's own connection, so the worker
thread can write while the GUI thread reads, and two processes can share the file.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from engine.config import paths
from engine.events import EngineEvent
from engine.history import eventlog, jobs, journal, ledger
from engine.history.codec import chain_id_value, market_address, role_value, task_id_value, text_value, wei_text
from engine.history.db import BUSY_TIMEOUT_S, Database
from engine.history.errors import HistoryError, HistoryTooNew, InvalidRecord
from engine.history.records import Earnings, JobRecord, JournalEntry
from engine.history.schema import SCHEMA_VERSION

FILE_NAME = "history.sqlite3"
SKIPPED = "skipped"  # a worker job state: the task's spec can never be trained, so it is not looked at again
BAD_SPEC = "bad spec"


def default_path() -> Path:
    """Where the history lives: the data dir (under ``$IDLEGRID_HOME`` in dev mode and tests)."""
    return paths().data_dir / FILE_NAME


def _limit(value: Any, what: str = "limit") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRecord(f"{what} must be a positive int, not {value!r}")
    return value


class History:
    """Local history of jobs, the intent journal, the earnings ledger and the event log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def open(cls, path: Path | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> History:
        """Open (creating and migrating as needed) the database; default ``<data dir>/history.sqlite3``.

        ``busy_timeout_s``: how long a write waits for another process's write lock.
        """
        db = Database(Path(path) if path is not None else default_path(), busy_timeout_s=busy_timeout_s)
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
        return cls(db)

    @classmethod
    def open_read_only(cls, path: Path) -> History | None:
        """Open an existing file only to read it (SQLite's mode=ro: nothing can be written, not
        even a schema into an empty file); None when it holds no history yet (0 bytes, or no
        tables). A file of an older schema is refused rather than migrated by a reader."""
        db = Database(Path(path), read_only=True)
        try:
            found = db.schema_version()
            if found == 0:
                db.close()
                return None
            if found > SCHEMA_VERSION:
                raise HistoryTooNew(db.path, found, SCHEMA_VERSION)
            if found < SCHEMA_VERSION:
                raise HistoryError(f"history database {db.path} has schema {found}, older than this idlegrid's "
                                   f"{SCHEMA_VERSION}",
                                   hint="run `idlegrid worker` or the app once to upgrade it, then read it")
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def path(self) -> Path:
        return self._db.path

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return self._db.schema_version()

    def data_version(self) -> int:
        """Changes whenever anything is committed by anyone; poll it to know when to re-read."""
        return self._db.data_version()

    # jobs ----------------------------------------------------------------------------------------

    @staticmethod
    def _key(chain_id: int, market: str, task_id: int, role: str) -> jobs.Key:
        task = task_id_value(task_id)
        assert task is not None
        return chain_id_value(chain_id), market_address(market), task, role_value(role)

    def upsert_job(self, chain_id: int, market: str, task_id: int, role: str, **fields: Any) -> JobRecord:
        """Create the job or update the given fields (``detail`` merges key by key); the stored record."""
        key = self._key(chain_id, market, task_id, role)
        with self._db.write() as conn:
            return jobs.upsert(conn, key, fields)

    def job(self, chain_id: int, market: str, task_id: int, role: str) -> JobRecord | None:
        key = self._key(chain_id, market, task_id, role)
        with self._db.read() as conn:
            return jobs.get(conn, key)

    def jobs(self, *, role: str | None = None, state: str | None = None, search: str | None = None,
             limit: int = 500, chain_id: int | None = None, market: str | None = None,
             states: Collection[str] | None = None) -> list[JobRecord]:
        """Jobs newest first (by last update), optionally of one role, state, chain and market, or
        in any of ``states``, or matching ``search`` (a task id when all digits, else a substring of
        name, state, outcome, spec hash or root). Filter here rather than in Python: a worker's
        history grows without end."""
        if role is not None:
            role_value(role)
        if chain_id is not None:
            chain_id_value(chain_id)
        if market is not None:
            market = market_address(market)
        if states is not None:
            states = [text_value(s, "states item") for s in ([states] if isinstance(states, str) else states)]
        with self._db.read() as conn:
            return jobs.listing(conn, role=role, state=state, search=search, limit=_limit(limit),
                                chain_id=chain_id, market=market, states=states)

    def remember_bad_task(self, chain_id: int, market: str, task_id: int, reason: str,
                          spec_sha256: str | None = None) -> JobRecord:
        """Record for good that this worker skips ``task_id`` (its posted spec is unusable); the
        row shows in ``idlegrid history`` as state "skipped" with the reason as its error."""
        return self.upsert_job(chain_id, market, task_id, "worker", state=SKIPPED, outcome=BAD_SPEC,
                               error=text_value(reason, "reason")[:500], spec_sha256=spec_sha256)

    def bad_tasks(self, chain_id: int, market: str) -> set[int]:
        """The task ids :meth:`remember_bad_task` recorded on this chain and market."""
        rows = self.jobs(role="worker", state=SKIPPED, chain_id=chain_id, market=market, limit=1_000_000)
        return {job.task_id for job in rows}

    def record_tx(self, chain_id: int, market: str, task_id: int, role: str, action: str, tx_hash: str,
                  gas_paid_wei: int) -> None:
        """Add a sent transaction to its job (its gas to ``gas_paid``, its hash to ``txs[action]``) and a
        ``gas`` ledger entry. Recording the same tx hash again changes nothing."""
        key = self._key(chain_id, market, task_id, role)
        text_value(action, "tx action")
        text_value(tx_hash, "tx hash")
        with self._db.write() as conn:
            if jobs.record_tx(conn, key, action, tx_hash, gas_paid_wei):
                ledger.add(conn, key[0], key[1], key[2], "gas", gas_paid_wei, tx_hash, None)

    def networks(self) -> list[tuple[int, str]]:
        """Every (chain id, market) the history has jobs or ledger entries for."""
        with self._db.read() as conn:
            return jobs.networks(conn)

    # journal -------------------------------------------------------------------------------------

    def journal_begin(self, key: str, action: str, payload: dict[str, Any]) -> None:
        """Record an intent before its side effect; :class:`JournalError` if ``key`` is already open.
        Durable (fsync'd, with everything written before it): the side effect follows."""
        with self._db.write(durable=True) as conn:
            journal.begin(conn, key, action, payload)

    def journal_update(self, key: str, **payload_fields: Any) -> None:
        """Merge fields into an open entry's payload (e.g. a fee-bumped replacement before it is
        sent). Durable, like :meth:`journal_begin`."""
        with self._db.write(durable=True) as conn:
            journal.update(conn, key, payload_fields)

    def journal_end(self, key: str, result: str) -> None:
        """Close an open entry with its result: "done", "failed: …" or "superseded"."""
        with self._db.write() as conn:
            journal.end(conn, key, result)

    def journal_open(self) -> list[JournalEntry]:
        """Entries begun and never ended, oldest first: what a crash interrupted."""
        with self._db.read() as conn:
            return journal.open_entries(conn)

    # ledger --------------------------------------------------------------------------------------

    def add_ledger(self, chain_id: int, market: str, task_id: int | None, kind: str, amount_wei: int, *,
                   tx_hash: str | None = None, at: float | None = None) -> None:
        """One movement of wei (kinds in :data:`engine.history.ledger.KINDS`); with a ``tx_hash`` it
        counts once however often it is recorded."""
        chain, market = chain_id_value(chain_id), market_address(market)
        task = task_id_value(task_id, optional=True)
        with self._db.write() as conn:
            ledger.add(conn, chain, market, task, kind, amount_wei, tx_hash, at)

    def earnings(self, chain_id: int, market: str, account_credits_wei: int | None = None) -> Earnings:
        """Totals of one market; ``claimable`` is ``account_credits_wei`` (the chain's word) when given."""
        chain, market = chain_id_value(chain_id), market_address(market)
        if account_credits_wei is not None:
            wei_text(account_credits_wei, "account_credits_wei")
        with self._db.read() as conn:
            return ledger.earnings(conn, chain, market, account_credits_wei)

    def ledger_since(self, chain_id: int, market: str, since: float) -> dict[str, int]:
        """Wei per ledger kind recorded since ``since`` (unix time): the app's today, this week,
        last hour (rewards and gas of a period, for its profit arithmetic)."""
        chain, market = chain_id_value(chain_id), market_address(market)
        with self._db.read() as conn:
            return ledger.totals_since(conn, chain, market, since)

    def earnings_per_day(self, chain_id: int, market: str, days: int = 30) -> list[tuple[str, int]]:
        """``(YYYY-MM-DD, wei earned)`` for each of the last ``days`` local days, oldest first, zeros kept."""
        chain, market = chain_id_value(chain_id), market_address(market)
        with self._db.read() as conn:
            return ledger.per_day(conn, chain, market, _limit(days, "days"))

    # events --------------------------------------------------------------------------------------

    def add_event(self, event: EngineEvent) -> None:
        with self._db.write() as conn:
            eventlog.add(conn, event)

    def events(self, limit: int = 200) -> list[EngineEvent]:
        """The newest ``limit`` events, oldest first."""
        with self._db.read() as conn:
            return eventlog.latest(conn, _limit(limit))
