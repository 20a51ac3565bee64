"""The intent journal: written before a chain write or other side effect, ended after it.

On restart, :func:`open_entries` lists what was begun and never ended, so the owner can ask the
chain whether the transaction landed instead of sending it again. Ended entries stay (with
their result) as an audit trail; only one entry per key can be open at a time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from engine.history.codec import text_value, to_json
from engine.history.errors import JournalError
from engine.history.records import JournalEntry


def begin(conn: sqlite3.Connection, key: str, action: str, payload: dict[str, Any]) -> None:
    text_value(key, "journal key")
    text_value(action, "journal action")
    now = time.time()
    try:
        conn.execute("INSERT INTO journal (key, action, payload, begun_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (key, action, to_json(payload, f"journal payload of {key}"), now, now))
    except sqlite3.IntegrityError:
        raise JournalError(
            f"journal entry {key!r} is already open: the side effect it records may have happened",
            hint="reconcile it first (journal_open() after a restart lists it), then journal_end it") from None


def _open_row(conn: sqlite3.Connection, key: str, verb: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT id, payload FROM journal WHERE key = ? AND ended_at IS NULL", (key,)).fetchone()
    if row is None:
        raise JournalError(f"cannot {verb} journal entry {key!r}: no open entry has that key",
                           hint="journal_begin it before the side effect; journal_open() lists open entries")
    return row


def update(conn: sqlite3.Connection, key: str, fields: dict[str, Any]) -> None:
    row = _open_row(conn, key, "update")
    payload = {**json.loads(row["payload"]), **fields}
    conn.execute("UPDATE journal SET payload = ?, updated_at = ? WHERE id = ?",
                 (to_json(payload, f"journal payload of {key}"), time.time(), row["id"]))


def end(conn: sqlite3.Connection, key: str, result: str) -> None:
    text_value(result, "journal result")
    row = _open_row(conn, key, "end")
    now = time.time()
    conn.execute(
        "UPDATE journal SET ended_at = ?, updated_at = ?, result = ? WHERE id = ?", (now, now, result, row["id"])
    )


def open_entries(conn: sqlite3.Connection) -> list[JournalEntry]:
    rows = conn.execute("SELECT key, action, payload, begun_at, updated_at FROM journal "
                        "WHERE ended_at IS NULL ORDER BY id").fetchall()
    return [JournalEntry.from_row(row) for row in rows]
