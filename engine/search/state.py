"""The coordinator's state in SQLite (WAL): candidates, the market tasks that carry them, and
the search's settings and event cursor. Every step is committed before the next one starts,
and a post is journaled (state ``posting``) before it is sent, so a kill -9 anywhere loses
nothing and a restart can tell a sent post from one never sent (see the coordinator).

The reads, the row types and the states live in :mod:`engine.search.reader` (standard library
only), which the desktop app uses on the same file read-only; they are re-exported here."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.search.reader import CandidateRow as CandidateRow
from engine.search.reader import CandidateState as CandidateState
from engine.search.reader import StateReader
from engine.search.reader import TaskRow as TaskRow
from engine.search.reader import TaskState as TaskState
from engine.search.space import Params

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY, params TEXT NOT NULL, spec_sha TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, value REAL, metrics TEXT, worker TEXT,
  asked_at REAL NOT NULL, done_at REAL, done_seq INTEGER, error TEXT);
CREATE TABLE IF NOT EXISTS tasks (
  task_id INTEGER PRIMARY KEY, candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  state TEXT NOT NULL, posted_block INTEGER NOT NULL, claim_deadline INTEGER NOT NULL,
  submit_deadline INTEGER, reward TEXT NOT NULL, refund TEXT NOT NULL DEFAULT '0',
  gas TEXT NOT NULL DEFAULT '0', posted_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_candidate ON tasks(candidate_id);
CREATE INDEX IF NOT EXISTS candidates_by_state ON candidates(state);
"""


class SearchState(StateReader):
    """One search's database (``search.sqlite3`` in its folder), for writing."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, sqlite3.connect(path, isolation_level=None))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------ meta

    def set_meta(self, **values: Any) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in values.items()])

    # ------------------------------------------------------------ candidates

    def add_candidate(self, params: Params, spec_sha: str) -> int:
        """Journal a candidate about to be posted (state ``posting``); its id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO candidates (params, spec_sha, state, attempts, asked_at) VALUES (?, ?, ?, 1, ?)",
                (json.dumps(params, sort_keys=True), spec_sha, CandidateState.POSTING.value, time.time()),
            )
            return int(cur.lastrowid or 0)

    def posted(self, candidate_id: int, task: TaskRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO tasks (task_id, candidate_id, state, posted_block, claim_deadline, reward, "
                "gas, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.task_id,
                    candidate_id,
                    task.state.value,
                    task.posted_block,
                    task.claim_deadline,
                    str(task.reward),
                    str(task.gas),
                    task.posted_at,
                ),
            )
            db.execute("UPDATE candidates SET state = ? WHERE id = ?", (CandidateState.POSTED.value, candidate_id))

    def set_candidate(self, candidate_id: int, state: CandidateState, **fields: Any) -> None:
        sets = ["state = ?"] + [f"{k} = ?" for k in fields]
        values = [state.value] + [json.dumps(v) if k == "metrics" else v for k, v in fields.items()]
        with self._tx() as db:
            if state == CandidateState.DONE:
                seq = db.execute("SELECT COALESCE(MAX(done_seq), 0) + 1 FROM candidates").fetchone()[0]
                sets.append("done_seq = ?")
                values.append(seq)
            db.execute(f"UPDATE candidates SET {', '.join(sets)} WHERE id = ?", (*values, candidate_id))

    def retry(self, candidate_id: int) -> None:
        """Back to ``posting`` for another attempt (its last task was cancelled)."""
        with self._tx() as db:
            db.execute("UPDATE candidates SET state = ?, attempts = attempts + 1 WHERE id = ?",
                       (CandidateState.POSTING.value, candidate_id))

    # ------------------------------------------------------------ tasks

    def set_task(self, task_id: int, state: TaskState, **fields: Any) -> None:
        sets = ["state = ?"] + [f"{k} = ?" for k in fields]
        values = [state.value] + [str(v) if k in ("refund", "gas") else v for k, v in fields.items()]
        with self._tx() as db:
            db.execute(f"UPDATE tasks SET {', '.join(sets)} WHERE task_id = ?", (*values, task_id))

