"""A worker thread writes while the GUI thread reads; two processes share the file; changes are seen."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.history import History, HistoryBusy
from tests.unit.history.conftest import CHAIN, MARKET

REPO = Path(__file__).parents[3]

WRITER = """
import sys
from pathlib import Path
from engine.history import History
path, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with History.open(path) as h:
    for task in range(first, first + count):
        h.upsert_job(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", task, "worker", state="claimed")
        h.record_tx(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", task, "worker", "claim", f"0x{task:x}", 1)
"""


def test_a_writer_thread_and_a_reader_thread_share_one_history(history: History) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            for task in range(1, 201):
                history.upsert_job(CHAIN, MARKET, task, "worker", state="claimed", steps=100)
                history.upsert_job(CHAIN, MARKET, task, "worker", steps_done=100, state="submitted")
        except BaseException as e:  # reported below: a thread's exception would be lost
            errors.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=work)
    worker.start()
    seen = 0
    while not done.is_set():
        jobs = history.jobs(limit=1000)
        assert len(jobs) >= seen  # never goes back: every read is a consistent snapshot
        seen = len(jobs)
    worker.join()
    assert errors == []
    assert len(history.jobs(limit=1000, state="submitted")) == 200


def test_two_processes_create_and_write_one_file_without_losing_rows(db_path: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), str(first), "60"], cwd=REPO)
               for first in (1, 1001)]
    for proc in writers:
        assert proc.wait(timeout=120) == 0
    with History.open(db_path) as history:
        jobs = history.jobs(limit=1000)
        assert len(jobs) == 120 and all(job.gas_paid == 1 for job in jobs)
        assert history.earnings(CHAIN, MARKET).gas_paid == 120


def test_data_version_moves_on_every_commit_and_only_then(history: History, db_path: Path) -> None:
    first = history.data_version()
    assert history.data_version() == first  # reading changes nothing
    history.jobs()
    assert history.data_version() == first

    history.upsert_job(CHAIN, MARKET, 1, "worker")  # this thread's own commit
    second = history.data_version()
    assert second != first

    thread = threading.Thread(target=lambda: history.upsert_job(CHAIN, MARKET, 2, "worker"))
    thread.start()
    thread.join()
    third = history.data_version()
    assert third != second

    with History.open(db_path) as other:  # another connection, as another process would be
        other.add_ledger(CHAIN, MARKET, 1, "reward", 1)
    assert history.data_version() != third


def _open_handles(path: Path) -> int:
    """How many file descriptors of this process point at ``path`` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if fd.exists() and fd.resolve() == path.resolve())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through Linux's /proc")
def test_connections_of_finished_threads_are_closed(history: History, db_path: Path) -> None:
    history.jobs()
    for _ in range(20):
        thread = threading.Thread(target=history.jobs)
        thread.start()
        thread.join()
    # this thread's connection, the last thread's, and maybe one SQLite keeps while another
    # connection of the process holds a POSIX lock on the file; a leak would show 21
    assert _open_handles(db_path) <= 3
    history.close()
    assert _open_handles(db_path) == 0


def test_a_write_lock_held_too_long_by_another_process_is_a_clear_error(db_path: Path) -> None:
    History.open(db_path).close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a stuck process (or an SQLite browser) would
    try:
        with History.open(db_path, busy_timeout_s=0.2) as history:
            assert history.jobs() == []  # readers are not blocked (WAL)
            with pytest.raises(HistoryBusy, match=r"stayed locked by another process for 0.2 s") as caught:
                history.upsert_job(CHAIN, MARKET, 1, "worker")
            assert "close that and retry" in (caught.value.hint or "")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with History.open(db_path) as history:
        assert history.upsert_job(CHAIN, MARKET, 1, "worker").state == "new"
