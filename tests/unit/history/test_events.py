"""The event log keeps EngineEvents across restarts and stays bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.events import EngineEvent, EngineState, Kind
from engine.history import History, InvalidRecord, eventlog


def test_events_round_trip_across_reopening(db_path: Path) -> None:
    sent = [EngineEvent(Kind.STATE, "working", None, {"state": EngineState.WORKING, "reason": ""}, at=10.0),
            EngineEvent(Kind.NOTICE, "task 7 paid", 7, {"reward": str(2**70)}, at=11.0)]
    with History.open(db_path) as history:
        for event in sent:
            history.add_event(event)
    with History.open(db_path) as history:
        got = history.events()
    assert got[1] == sent[1]
    assert got[0].data == {"state": "working", "reason": ""}  # enums stored as their values
    assert (got[0].kind, got[0].at) == (Kind.STATE, 10.0)


def test_events_returns_the_newest_oldest_first(history: History) -> None:
    for i in range(10):
        history.add_event(EngineEvent(Kind.LOG, f"line {i}", at=float(i)))
    assert [e.message for e in history.events(limit=3)] == ["line 7", "line 8", "line 9"]


def test_the_log_is_trimmed_to_the_newest(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventlog, "MAX_EVENTS", 20)
    monkeypatch.setattr(eventlog, "TRIM_EVERY", 10)
    for i in range(55):
        history.add_event(EngineEvent(Kind.LOG, f"line {i}"))
    kept = history.events(limit=1000)
    assert kept[-1].message == "line 54"
    assert 20 <= len(kept) <= 30


def test_an_event_of_an_unknown_kind_reads_back_as_a_log_line(history: History, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("INSERT INTO events (at, kind, message, data) VALUES (1.0, 'from-the-future', 'hi', '{}')")
    conn.close()
    [event] = history.events()
    assert (event.kind, event.message) == (Kind.LOG, "hi")


def test_something_else_than_an_event_is_refused(history: History) -> None:
    with pytest.raises(InvalidRecord, match="add_event takes an EngineEvent"):
        history.add_event({"kind": "log"})  # type: ignore[arg-type]
