"""The intent journal: what a crash interrupted is still open after reopening the file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.history import History, InvalidRecord, JournalError

KEY = "1337:0x5FbDB2315678afecb367f032d93F642f64180aa3:7:claim"


def test_an_entry_begun_in_a_process_that_died_is_open_after_restart(db_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from engine.history import History\n"
        "h = History.open(Path(sys.argv[1]))\n"
        f"h.journal_begin({KEY!r}, 'worker.claim', {{'nonce': 4}})\n"
        f"h.journal_update({KEY!r}, tx_hash='0xfeed')\n"
        "os._exit(9)  # no close, no clean shutdown\n"
    )
    died = subprocess.run([sys.executable, "-c", script, str(db_path)], cwd=Path(__file__).parents[3], timeout=60)
    assert died.returncode == 9
    with History.open(db_path) as history:
        [entry] = history.journal_open()
        assert (entry.key, entry.action, entry.payload) == (KEY, "worker.claim", {"nonce": 4, "tx_hash": "0xfeed"})
        assert entry.updated_at >= entry.begun_at
        history.journal_end(KEY, "done")
        assert history.journal_open() == []


def test_open_entries_come_oldest_first_and_ended_ones_leave(history: History) -> None:
    for key in ("a", "b", "c"):
        history.journal_begin(key, "x", {})
    history.journal_end("b", "superseded")
    assert [e.key for e in history.journal_open()] == ["a", "c"]


def test_beginning_an_open_key_again_is_refused(history: History) -> None:
    history.journal_begin(KEY, "worker.claim", {"nonce": 1})
    with pytest.raises(JournalError, match="already open") as caught:
        history.journal_begin(KEY, "worker.claim", {"nonce": 2})
    assert "reconcile it first" in (caught.value.hint or "")
    assert [e.payload for e in history.journal_open()] == [{"nonce": 1}]


def test_a_key_can_begin_again_once_ended(history: History) -> None:
    history.journal_begin(KEY, "worker.claim", {"try": 1})
    history.journal_end(KEY, "failed: ContractRevert")
    history.journal_begin(KEY, "worker.claim", {"try": 2})
    assert [e.payload for e in history.journal_open()] == [{"try": 2}]


@pytest.mark.parametrize("call", ["update", "end"])
def test_updating_or_ending_an_unbegun_entry_is_refused(history: History, call: str) -> None:
    with pytest.raises(JournalError, match=f"cannot {call} journal entry 'nope'"):
        if call == "update":
            history.journal_update("nope", tx_hash="0x1")
        else:
            history.journal_end("nope", "done")


def test_a_payload_that_is_not_json_is_refused(history: History) -> None:
    with pytest.raises(InvalidRecord, match="journal payload of k cannot be stored as JSON"):
        history.journal_begin("k", "x", {"signer": object()})
    assert history.journal_open() == []


def test_bytes_in_a_payload_are_kept_as_hex(history: History) -> None:
    history.journal_begin("k", "x", {"raw": b"\x01\x02"})
    assert history.journal_open()[0].payload == {"raw": "0x0102"}


def _synchronous_levels_of_commits(history: History, write: Callable[[], None]) -> list[int]:
    """The ``PRAGMA synchronous`` level (1 NORMAL, 2 FULL) in force at each COMMIT ``write`` makes."""
    conn = history._db.connection()
    levels: list[int] = []

    def trace(statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            levels.append(int(conn.execute("PRAGMA synchronous").fetchone()[0]))

    conn.set_trace_callback(trace)
    try:
        write()
    finally:
        conn.set_trace_callback(None)
    return levels


def test_journal_writes_are_fsynced_and_the_writes_a_crash_may_lose_are_not(history: History) -> None:
    # A broadcast follows a journal write, so it is FULL (its fsync also makes every earlier commit
    # durable); the rest (jobs, ledger, events) may lose a suffix to a power cut, which is the same as a
    # crash before them. Seven FULL commits cost a worker about 50 ms around each transaction (issue 19).
    assert _synchronous_levels_of_commits(history, lambda: history.journal_begin(KEY, "worker.claim", {})) == [2]
    assert _synchronous_levels_of_commits(history, lambda: history.journal_update(KEY, replacements=[])) == [2]
    assert _synchronous_levels_of_commits(history, lambda: history.journal_end(KEY, "done")) == [1]
    assert _synchronous_levels_of_commits(
        history, lambda: history.add_ledger(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 7, "reward", 5)) == [1]
