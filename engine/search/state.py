"""The coordinator's state in SQLite (WAL): candidates, the market tasks that carry them, and
the search's settings and event cursor. Every step is committed before the next one starts,
and a post is journaled (state ``posting``) before it is sent, so a kill -9 anywhere loses
nothing and a restart can tell a sent post from one never sent (see the coordinator)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

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


class CandidateState(str, Enum):
    POSTING = "posting"        # journaled; the post may or may not have reached the chain
    POSTED = "posted"          # a live task carries it (open, claimed or in its window)
    CANCELLING = "cancelling"  # its task expired; the cancel may or may not have reached the chain
    DONE = "done"              # a checked result; value is its fitness
    DROPPED = "dropped"        # no result after every attempt

    @property
    def in_flight(self) -> bool:
        return self in (CandidateState.POSTING, CandidateState.POSTED, CandidateState.CANCELLING)


class TaskState(str, Enum):
    OPEN = "open"
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CandidateRow:
    id: int
    params: Params
    spec_sha: str
    state: CandidateState
    attempts: int
    value: float | None
    metrics: dict[str, float]
    worker: str | None
    asked_at: float
    done_at: float | None
    error: str | None


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    candidate_id: int
    state: TaskState
    posted_block: int
    claim_deadline: int
    submit_deadline: int | None
    reward: int
    refund: int
    gas: int
    posted_at: float


class SearchState:
    """One search's database (``search.sqlite3`` in its folder)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

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

    def meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])

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

    def candidates(self, *states: CandidateState) -> list[CandidateRow]:
        """Candidates in ``states`` (all if none), in the order they finished, then were asked."""
        where = f"WHERE state IN ({','.join('?' * len(states))})" if states else ""
        rows = self._db.execute(f"SELECT * FROM candidates {where} ORDER BY done_seq IS NULL, done_seq, id",
                                [s.value for s in states]).fetchall()
        return [_candidate(r) for r in rows]

    def candidate(self, candidate_id: int) -> CandidateRow:
        return _candidate(self._db.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone())

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0])

    # ------------------------------------------------------------ tasks

    def set_task(self, task_id: int, state: TaskState, **fields: Any) -> None:
        sets = ["state = ?"] + [f"{k} = ?" for k in fields]
        values = [state.value] + [str(v) if k in ("refund", "gas") else v for k, v in fields.items()]
        with self._tx() as db:
            db.execute(f"UPDATE tasks SET {', '.join(sets)} WHERE task_id = ?", (*values, task_id))

    def tasks(self, candidate_id: int | None = None) -> list[TaskRow]:
        if candidate_id is None:
            rows = self._db.execute("SELECT * FROM tasks ORDER BY task_id").fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM tasks WHERE candidate_id = ? ORDER BY task_id", (candidate_id,)
            ).fetchall()
        return [_task(r) for r in rows]

    def live_task(self, candidate_id: int) -> TaskRow | None:
        live = [t for t in self.tasks(candidate_id) if t.state != TaskState.CANCELLED]
        return live[-1] if live else None


def _candidate(r: sqlite3.Row) -> CandidateRow:
    return CandidateRow(r["id"], json.loads(r["params"]), r["spec_sha"], CandidateState(r["state"]), r["attempts"],
                        r["value"], json.loads(r["metrics"]) if r["metrics"] else {}, r["worker"], r["asked_at"],
                        r["done_at"], r["error"])


def _task(r: sqlite3.Row) -> TaskRow:
    return TaskRow(r["task_id"], r["candidate_id"], TaskState(r["state"]), r["posted_block"], r["claim_deadline"],
                   r["submit_deadline"], int(r["reward"]), int(r["refund"]), int(r["gas"]), r["posted_at"])
