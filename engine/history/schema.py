"""The history schema as ordered migrations.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``; each is a tuple of single
SQL statements so it runs inside one transaction (``executescript`` would commit half-way).
Never edit a released step: add a new one. The ``schema_version`` table holds one row, the
number of steps applied.

Wei amounts are TEXT holding a decimal integer: SQLite integers stop at 2**63 - 1 and a
REAL would round, while reward + stake sums on a busy market can pass both.
"""

from __future__ import annotations

V1_JOBS_JOURNAL_LEDGER: tuple[str, ...] = (
    """CREATE TABLE jobs (
        chain_id INTEGER NOT NULL,
        market TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        name TEXT,
        spec_sha256 TEXT,
        state TEXT NOT NULL,
        outcome TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        steps INTEGER,
        steps_done INTEGER,
        loss REAL,
        metrics TEXT NOT NULL DEFAULT '{}',
        merkle_root TEXT,
        reward TEXT,
        stake TEXT,
        gas_paid TEXT NOT NULL DEFAULT '0',
        txs TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (chain_id, market, task_id, role)
    )""",
    """CREATE TABLE job_txs (
        chain_id INTEGER NOT NULL,
        market TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        gas_paid TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (chain_id, market, task_id, role, tx_hash)
    )""",
    """CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        begun_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        ended_at REAL,
        result TEXT
    )""",
    # at most one open entry per key: a second intent for the same write is a bug, not a retry
    "CREATE UNIQUE INDEX journal_open_key ON journal (key) WHERE ended_at IS NULL",
    """CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        chain_id INTEGER NOT NULL,
        market TEXT NOT NULL,
        task_id INTEGER,
        kind TEXT NOT NULL,
        amount TEXT NOT NULL,
        tx_hash TEXT,
        at REAL NOT NULL
    )""",
    # the same transaction recorded twice (crash recovery, record_tx + add_ledger) counts once
    """CREATE UNIQUE INDEX ledger_once_per_tx ON ledger (chain_id, market, ifnull(task_id, -1), kind, tx_hash)
        WHERE tx_hash IS NOT NULL""",
)

V2_EVENTS_AND_VIEW_INDEXES: tuple[str, ...] = (
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        task_id INTEGER,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    # the history view lists newest first, optionally by role or state: each is an index walk
    "CREATE INDEX jobs_by_updated ON jobs (updated_at)",
    "CREATE INDEX jobs_by_role ON jobs (role, updated_at)",
    "CREATE INDEX jobs_by_state ON jobs (state, updated_at)",
    "CREATE INDEX ledger_by_market ON ledger (chain_id, market, kind, at)",
)

# A transaction's gas is paid once, whichever task (or none) it was booked under: a caller that
# recorded it both with record_tx (under its task) and add_ledger (under none) counted it twice.
V3_GAS_ONCE_PER_TX: tuple[str, ...] = (
    """DELETE FROM ledger WHERE kind = 'gas' AND tx_hash IS NOT NULL AND id NOT IN (
        SELECT min(id) FROM ledger WHERE kind = 'gas' AND tx_hash IS NOT NULL GROUP BY chain_id, market, tx_hash)""",
    "DROP INDEX ledger_once_per_tx",
    """CREATE UNIQUE INDEX ledger_once_per_tx
        ON ledger (chain_id, market, CASE WHEN kind = 'gas' THEN -1 ELSE ifnull(task_id, -1) END, kind, tx_hash)
        WHERE tx_hash IS NOT NULL""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    V1_JOBS_JOURNAL_LEDGER,
    V2_EVENTS_AND_VIEW_INDEXES,
    V3_GAS_ONCE_PER_TX,
)

SCHEMA_VERSION = len(MIGRATIONS)

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, migrated_at REAL NOT NULL)"
