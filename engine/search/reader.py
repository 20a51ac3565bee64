"""A search's state, read: its rows, a read-only connection, and the space it searches as the
state recorded it.

The coordinator writes the state (:class:`engine.search.state.SearchState`, which inherits the
reads from here); the desktop app only reads it, while a search runs. So this module imports
the standard library only (no pydantic spec models, no Optuna), opens SQLite with
``mode=ro`` (it can never write), and turns whatever a corrupt or foreign file does into one
:class:`SearchStateError` that names the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from engine.errors import IdlegridError

Value = int | float | str
Params = dict[str, Value]       # a candidate: one value per parameter of its space

STATE_FILE = "search.sqlite3"   # in the search's folder (``idlegrid search --out``)
BUSY_TIMEOUT_S = 2.0


class SearchStateError(IdlegridError):
    """A search state that cannot be read: not SQLite, not a search, or damaged."""


class Goal(str, Enum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


def goal_of(metric: str) -> Goal:
    """Accuracy is maximized; every other metric (loss, perplexity) is minimized."""
    return Goal.MAXIMIZE if metric == "accuracy" else Goal.MINIMIZE


def effective(params: Mapping[str, Value]) -> Params:
    """Only the parameters that reach the spec (the chosen architecture's, and the rest)."""
    arch = str(params["arch"])
    return {k: v for k, v in params.items() if "." not in k or k.startswith(arch + ".")}


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
    CLOSED = "closed"          # v2: final, its audit closed; ``refund`` holds the fee no auditor earned


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


class StateReader:
    """The queries on one search's database; :meth:`open` gives a read-only one."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._db.row_factory = sqlite3.Row

    @classmethod
    def open(cls, path: Path) -> StateReader:
        """Read-only (``mode=ro``): the file is never created, changed or locked for writing."""
        if not path.is_file():
            raise SearchStateError(f"{path}: no such search state file",
                                   hint="a search keeps its state in <its folder>/search.sqlite3")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                                 check_same_thread=False)
        except sqlite3.Error as e:
            raise SearchStateError(f"{path}: cannot be opened ({e})") from None
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    def data_version(self) -> int:
        """Changes whenever another connection (the coordinator's) commits."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def candidates(self, *states: CandidateState) -> list[CandidateRow]:
        """Candidates in ``states`` (all if none), in the order they finished, then were asked."""
        where = f"WHERE state IN ({','.join('?' * len(states))})" if states else ""
        rows = self._db.execute(f"SELECT * FROM candidates {where} ORDER BY done_seq IS NULL, done_seq, id",  # noqa: S608
                                [s.value for s in states]).fetchall()
        return [_candidate(r) for r in rows]

    def candidate(self, candidate_id: int) -> CandidateRow:
        return _candidate(self._db.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone())

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0])

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


@dataclass(frozen=True)
class SpaceView:
    """What reading results needs of a space (name, metric, goal, its parameters), taken from
    the space file the coordinator recorded in the state (``meta.settings.space``) without
    validating it again: :class:`engine.search.space.SearchSpace` answers the same questions."""

    name: str
    metric: str
    goal: Goal
    params: dict[str, list[Value]]

    @classmethod
    def from_settings(cls, settings: Any) -> SpaceView:
        """From ``meta.settings``; :class:`ValueError` if it is not a recorded space file."""
        space = settings.get("space") if isinstance(settings, dict) else None
        if not isinstance(space, dict):
            raise ValueError("its settings hold no space")
        name, archs, choices = space.get("name"), space.get("architectures"), space.get("choices") or {}
        metric = ((space.get("base") or {}).get("evaluation") or {}).get("metric")
        if not (isinstance(name, str) and isinstance(metric, str) and isinstance(archs, dict) and archs
                and isinstance(choices, dict)):
            raise ValueError("its space has no name, metric or architectures")
        params: dict[str, list[Value]] = {"arch": list(archs)}
        for arch, fields in archs.items():
            if not isinstance(fields, dict):
                raise ValueError(f"its architecture {arch!r} is not an object")
            params.update({f"{arch}.{k}": list(v) for k, v in fields.items() if k != "kind"})
        params.update({k: list(v) for k, v in choices.items() if v is not None})
        return cls(name, metric, goal_of(metric), params)

    def parameters(self) -> dict[str, list[Value]]:
        return self.params

    def effective(self, params: Mapping[str, Value]) -> Params:
        return effective(params)


def _candidate(r: sqlite3.Row) -> CandidateRow:
    return CandidateRow(r["id"], json.loads(r["params"]), r["spec_sha"], CandidateState(r["state"]), r["attempts"],
                        r["value"], json.loads(r["metrics"]) if r["metrics"] else {}, r["worker"], r["asked_at"],
                        r["done_at"], r["error"])


def _task(r: sqlite3.Row) -> TaskRow:
    return TaskRow(r["task_id"], r["candidate_id"], TaskState(r["state"]), r["posted_block"], r["claim_deadline"],
                   r["submit_deadline"], int(r["reward"]), int(r["refund"]), int(r["gas"]), r["posted_at"])
