"""The file itself: WAL, migrations forward, refusal of newer or broken files without touching them."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.events import EngineEvent, Kind
from engine.history import History, HistoryClosed, HistoryCorrupt, HistoryTooNew, HistoryUnavailable
from engine.history.schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE
from tests.unit.history.conftest import CHAIN, MARKET


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make_db_at(path: Path, version: int) -> None:
    """A database as an idlegrid of schema ``version`` left it (rollback journal, no WAL yet)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(VERSION_TABLE)
    for step in MIGRATIONS[:version]:
        for statement in step:
            conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
    conn.close()


def test_a_new_database_is_in_wal_mode_at_the_current_version(history: History, db_path: Path) -> None:
    assert history.schema_version() == SCHEMA_VERSION == 3
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_current_database_taken_out_of_wal_is_put_back(db_path: Path) -> None:
    History.open(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    conn.close()
    History.open(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_default_path_is_history_sqlite3_in_the_data_dir(idlegrid_home: Path) -> None:
    with History.open() as history:
        assert history.path == idlegrid_home / "data" / "history.sqlite3"
        assert history.path.exists()


def test_a_version_1_database_migrates_forward_keeping_its_rows(db_path: Path) -> None:
    _make_db_at(db_path, 1)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("INSERT INTO jobs (chain_id, market, task_id, role, state, created_at, updated_at, reward) "
                 "VALUES (?, ?, 3, 'worker', 'finalized', 1.0, 2.0, ?)", (CHAIN, MARKET, str(2**70)))
    conn.execute("INSERT INTO ledger (chain_id, market, task_id, kind, amount, at) VALUES (?, ?, 3, 'reward', ?, ?)",
                 (CHAIN, MARKET, str(2**70), time.time()))
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'events'").fetchone() is None
    conn.close()

    with History.open(db_path) as history:
        assert history.schema_version() == SCHEMA_VERSION
        job = history.job(CHAIN, MARKET, 3, "worker")
        assert job is not None and job.reward == 2**70 and job.state == "finalized"
        assert history.earnings(CHAIN, MARKET).earned == 2**70
        history.add_event(EngineEvent(Kind.LOG, "the v2 table works"))
        assert [e.message for e in history.events()] == ["the v2 table works"]
    conn = sqlite3.connect(db_path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"jobs_by_updated", "jobs_by_role", "jobs_by_state"} <= indexes
    assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
    conn.close()


def test_migrating_to_version_3_counts_each_transactions_gas_once(db_path: Path) -> None:
    _make_db_at(db_path, 2)
    conn = sqlite3.connect(db_path, isolation_level=None)
    rows = [(7, "gas", "100", "0xaa"), (None, "gas", "100", "0xaa"),  # one tx booked under a task and none
            (7, "gas", "5", "0xbb"), (None, "gas", "1", None), (7, "reward", "9", "0xcc")]
    conn.executemany("INSERT INTO ledger (chain_id, market, task_id, kind, amount, tx_hash, at) "
                     "VALUES (1337, ?, ?, ?, ?, ?, 1.0)", [(MARKET, *row) for row in rows])
    conn.close()
    with History.open(db_path) as history:
        assert history.schema_version() == 3
        assert history.earnings(CHAIN, MARKET).gas_paid == 106
        history.add_ledger(CHAIN, MARKET, 8, "gas", 100, tx_hash="0xaa")
        assert history.earnings(CHAIN, MARKET).gas_paid == 106


def test_opening_twice_does_not_migrate_again(db_path: Path) -> None:
    History.open(db_path).close()
    with History.open(db_path) as history:
        assert history.schema_version() == SCHEMA_VERSION


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(db_path: Path) -> None:
    _make_db_at(db_path, SCHEMA_VERSION)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 5,))
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.close()
    before = _digest(db_path)

    with pytest.raises(HistoryTooNew) as caught:
        History.open(db_path)
    assert f"schema version {SCHEMA_VERSION + 5}" in caught.value.message
    assert f"up to {SCHEMA_VERSION}" in caught.value.message
    assert "upgrade idlegrid" in (caught.value.hint or "")
    assert _digest(db_path) == before
    assert not db_path.with_name(db_path.name + "-wal").exists()


def test_a_file_that_is_not_a_database_is_refused_and_kept(db_path: Path) -> None:
    db_path.write_bytes(b"this is a shopping list, not SQLite\n" * 200)
    before = _digest(db_path)
    with pytest.raises(HistoryCorrupt) as caught:
        History.open(db_path)
    assert str(db_path) in caught.value.message
    assert "move it away" in (caught.value.hint or "") and "untouched" in (caught.value.hint or "")
    assert db_path.exists() and _digest(db_path) == before


def test_damaged_pages_are_reported_as_corrupt(db_path: Path) -> None:
    with History.open(db_path) as history:
        for task in range(1, 200):
            history.upsert_job(CHAIN, MARKET, task, "worker", name="x" * 200, state="finalized")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db_path.read_bytes())
    data[page:] = b"\xa5" * (len(data) - page)  # everything but the header and schema page
    db_path.write_bytes(bytes(data))
    before = _digest(db_path)

    with pytest.raises(HistoryCorrupt), History.open(db_path) as history:
        history.jobs()
    assert _digest(db_path) == before


def test_a_path_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(HistoryUnavailable) as caught:
        History.open(folder)
    assert str(folder) in caught.value.message and caught.value.hint


def test_a_parent_that_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(HistoryUnavailable, match="cannot create its folder"):
        History.open(tmp_path / "file" / "history.sqlite3")


def test_use_after_close_is_a_clear_error(db_path: Path) -> None:
    history = History.open(db_path)
    history.close()
    with pytest.raises(HistoryClosed, match="already closed"):
        history.jobs()


def test_importing_the_history_pulls_in_no_torch_qt_or_web3() -> None:
    """The GUI process reads the history directly: it must stay light."""
    code = "import sys, engine.history; print(sorted({'torch', 'PySide6', 'web3'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
