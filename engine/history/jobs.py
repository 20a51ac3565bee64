"""Jobs: one row per (chain, market, task, role), written as the job moves, listed newest first.

Functions here take an open connection inside the caller's transaction; :class:`History`
owns the transactions. Field names are checked, so a typo fails loudly instead of vanishing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection
from typing import Any

from engine.history.codec import to_json, wei_text
from engine.history.errors import InvalidRecord
from engine.history.records import JobRecord

_TEXT = ("name", "spec_sha256", "state", "outcome", "merkle_root", "error")
_TIMES = ("created_at", "updated_at", "started_at", "finished_at")
_COUNTS = ("steps", "steps_done")
_WEI = ("reward", "stake")
_DICTS = ("metrics", "detail")
FIELDS = frozenset((*_TEXT, *_TIMES, *_COUNTS, *_WEI, *_DICTS, "loss"))
_BY_RECORD_TX = frozenset(("gas_paid", "txs"))

Key = tuple[int, str, int, str]
_WHERE_KEY = "chain_id = ? AND market = ? AND task_id = ? AND role = ?"


def _check(name: str, value: Any) -> Any:
    """The column value for one field, or :class:`InvalidRecord`."""
    if name in _WEI:
        return None if value is None else wei_text(value, name)
    if name in _DICTS:
        return to_json(value, name)
    if value is None:
        if name in ("state", "created_at", "updated_at"):
            raise InvalidRecord(f"job field {name} cannot be None")
        return None
    if name in _TEXT:
        ok = isinstance(value, str)
    elif name in _COUNTS:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    else:  # times and loss
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise InvalidRecord(f"job field {name} got {type(value).__name__} {value!r}",
                            hint=f"{name} takes {_expected(name)}")
    return float(value) if name in _TIMES or name == "loss" else value


def _expected(name: str) -> str:
    if name in _TEXT:
        return "a string or None"
    if name in _COUNTS:
        return "a non-negative int or None"
    return "a number (unix seconds for times) or None"


def check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - FIELDS
    if unknown & _BY_RECORD_TX:
        raise InvalidRecord(f"{', '.join(sorted(unknown & _BY_RECORD_TX))} cannot be set directly",
                            hint="use record_tx(..., action, tx_hash, gas_paid_wei): it adds the gas and the hash once")
    if unknown:
        raise InvalidRecord(f"unknown job field(s): {', '.join(sorted(unknown))}",
                            hint=f"the fields are: {', '.join(sorted(FIELDS))}")
    return {name: _check(name, value) for name, value in fields.items()}


def get(conn: sqlite3.Connection, key: Key) -> JobRecord | None:
    row = conn.execute(f"SELECT * FROM jobs WHERE {_WHERE_KEY}", key).fetchone()
    return None if row is None else JobRecord.from_row(row)


def upsert(conn: sqlite3.Connection, key: Key, fields: dict[str, Any]) -> JobRecord:
    """Insert the job or update the given fields; ``detail`` is merged key by key, the rest replaced."""
    values = check_fields(fields)
    now = time.time()
    values.setdefault("updated_at", now)
    existing = conn.execute(f"SELECT detail FROM jobs WHERE {_WHERE_KEY}", key).fetchone()
    if existing is None:
        values.setdefault("created_at", now)
        values.setdefault("state", "new")
        columns = ("chain_id", "market", "task_id", "role", *values)
        conn.execute(f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                     (*key, *values.values()))
    else:
        if "detail" in values:
            merged = {**json.loads(existing["detail"]), **json.loads(values["detail"])}
            values["detail"] = json.dumps(merged, sort_keys=True)
        assignments = ", ".join(f"{name} = ?" for name in values)
        conn.execute(f"UPDATE jobs SET {assignments} WHERE {_WHERE_KEY}", (*values.values(), *key))
    record = get(conn, key)
    assert record is not None
    return record


def record_tx(conn: sqlite3.Connection, key: Key, action: str, tx_hash: str, gas_wei: int) -> bool:
    """Add one transaction to a job (creating the row if needed); False if it was already recorded."""
    gas = wei_text(gas_wei, "gas_paid_wei")
    now = time.time()
    added = conn.execute(
        "INSERT OR IGNORE INTO job_txs (chain_id, market, task_id, role, action, tx_hash, gas_paid, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*key, action, tx_hash, gas, now)).rowcount == 1
    if not added:
        return False
    row = conn.execute(f"SELECT gas_paid, txs FROM jobs WHERE {_WHERE_KEY}", key).fetchone()
    if row is None:
        upsert(conn, key, {})
        row = conn.execute(f"SELECT gas_paid, txs FROM jobs WHERE {_WHERE_KEY}", key).fetchone()
    txs = {**json.loads(row["txs"]), action: tx_hash}
    conn.execute(f"UPDATE jobs SET gas_paid = ?, txs = ?, updated_at = ? WHERE {_WHERE_KEY}",
                 (str(int(row["gas_paid"]) + gas_wei), json.dumps(txs, sort_keys=True), now, *key))
    return True


_SEARCHED = ("name", "state", "outcome", "spec_sha256", "merkle_root")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def query(*, role: str | None = None, state: str | None = None, search: str | None = None, limit: int = 500,
          chain_id: int | None = None, market: str | None = None,
          states: Collection[str] | None = None) -> tuple[str, list[Any]]:
    """The SELECT of :func:`listing` and its parameters (tests check its plan uses an index).

    ``search`` of digits only is a task id; other text is a substring of name, state, outcome,
    spec hash or Merkle root (case-insensitive, ``%`` and ``_`` taken literally).
    """
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("role", role), ("state", state), ("chain_id", chain_id), ("market", market)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if states is not None:
        where.append(f"state IN ({', '.join('?' * len(states))})" if states else "0")
        params.extend(states)
    if search and search.strip().isdigit():
        where.append("task_id = ?")
        params.append(int(search))
    elif search:
        where.append("(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in _SEARCHED) + ")")
        params.extend([_like(search)] * len(_SEARCHED))
    sql = "SELECT * FROM jobs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY updated_at DESC, rowid DESC LIMIT ?"  # ties: the newer row first
    return sql, [*params, limit]


def listing(conn: sqlite3.Connection, **filters: Any) -> list[JobRecord]:
    """Newest first; role and state filters each walk an index, so the view stays cheap."""
    sql, params = query(**filters)
    return [JobRecord.from_row(row) for row in conn.execute(sql, params).fetchall()]


def networks(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """Every (chain id, market) that has a job or a ledger entry."""
    rows = conn.execute("SELECT chain_id, market FROM jobs UNION SELECT chain_id, market FROM ledger "
                        "ORDER BY chain_id, market").fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]
