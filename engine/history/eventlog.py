"""The app's event log: EngineEvents kept across restarts, trimmed to the newest ``MAX_EVENTS``."""

from __future__ import annotations

import json
import sqlite3

from engine.events import EngineEvent, Kind
from engine.history.codec import to_json
from engine.history.errors import InvalidRecord

MAX_EVENTS = 20_000
TRIM_EVERY = 500  # inserts between trims: a DELETE per event would double the writes


def add(conn: sqlite3.Connection, event: EngineEvent) -> int:
    """Store one event; its row id."""
    if not isinstance(event, EngineEvent) or not isinstance(event.kind, Kind):
        raise InvalidRecord(f"add_event takes an EngineEvent with a Kind, not {event!r}")
    cursor = conn.execute(
        "INSERT INTO events (at, kind, message, task_id, data) VALUES (?, ?, ?, ?, ?)",
        (float(event.at), event.kind.value, str(event.message), event.task_id,
         to_json(dict(event.data), f"data of event {event.message!r}")))
    row_id = int(cursor.lastrowid or 0)
    if row_id % TRIM_EVERY == 0:
        conn.execute("DELETE FROM events WHERE id <= ?", (row_id - MAX_EVENTS,))
    return row_id


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:  # written by a newer version: still worth a line in the log
        return Kind.LOG


def latest(conn: sqlite3.Connection, limit: int) -> list[EngineEvent]:
    """The newest ``limit`` events, oldest first (the order a log is read in)."""
    rows = conn.execute("SELECT at, kind, message, task_id, data FROM events ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [EngineEvent(kind=_kind(r["kind"]), message=r["message"], task_id=r["task_id"],
                        data=json.loads(r["data"]), at=r["at"]) for r in reversed(rows)]
