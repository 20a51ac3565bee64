"""A v2 juror process for the tests: :class:`JuryV2` in the loop ``VerifierV2`` runs it in.

``VerifierV2`` (the audits' port) composes ``JuryV2`` with its audits; until it exists these
tests drive the jury through :class:`JurorV2`, whose :meth:`~JurorV2.step` is that loop's jury
part, in its order: finish journaled writes once per start, read the market's new events
(each one offered to ``_on_jury_event``), then ``_jury_turn``. Registration is done with the
bindings (``steps.register``), as the audits' port will own it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from engine.chain.events import EventCursor
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records import MarketEvent
from engine.events import EngineEvent, Kind
from engine.history import History
from engine.history.records import JobRecord
from engine.storage import LocalStore
from engine.verifier.jury_v2 import JuryV2
from engine.verifier.states import ROLE, VerifierConfig


class JurorV2(JuryV2):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passed_on: list[MarketEvent] = []  # what VerifierV2 hands on to its audits and challenges

    def step(self) -> bool:
        """One turn; False when there was nothing to do."""
        busy = False
        if not self._reconciled:
            busy |= self._reconcile()
            self._reconciled = True
        busy |= self._read_events()
        busy |= self._jury_turn()
        return busy

    def _read_events(self) -> bool:
        if self._cursor.next_block is None:
            self._cursor.next_block = self.config.start_block or 0
        events, cursor = self.market.poller().poll(EventCursor(self._cursor.next_block))
        for event in events:
            if not self._on_jury_event(event):
                self.passed_on.append(event)
        if cursor.next_block != self._cursor.next_block:
            self._cursor.next_block = cursor.next_block
            self._cursor.save()
        return bool(events)


class Actor:
    """One juror process: its market client, its own history database and its event log."""

    def __init__(self, market: TaskMarketV2, store: LocalStore, root: Path, config: VerifierConfig) -> None:
        self.market, self.store, self.config = market, store, config
        self.address = market.sender_or_fail().address
        self.events: list[EngineEvent] = []
        self.history = History.open(root / "history.sqlite3")
        self.juror = self.start()

    def start(self) -> JurorV2:
        """A fresh juror on the same history and state file: what a restart of the process gives."""
        self.juror = JurorV2(self.market, self.store, self.history, config=self.config, listener=self.events.append)
        return self.juror

    def step(self) -> bool:
        return self.juror.step()

    def job(self, task_id: int) -> JobRecord | None:
        return self.history.job(self.juror.chain_id, self.market.address, task_id, ROLE)

    def duty(self, task_id: int, dispute_id: int) -> dict[str, Any]:
        job = self.job(task_id)
        assert job is not None, f"{self.address} has no job for task {task_id}"
        return dict(job.detail["juries"][str(dispute_id)])

    def ledger(self, kind: str) -> list[tuple[int, str]]:
        """This kind's entries (amount, tx hash), read straight from the SQLite file."""
        with sqlite3.connect(self.history.path) as db:
            rows = db.execute("SELECT amount, tx_hash FROM ledger WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        return [(int(amount), tx) for amount, tx in rows]

    def booked(self, kind: str) -> int:
        return sum(amount for amount, _ in self.ledger(kind))

    def said(self, words: str) -> int:
        """How many of its events said ``words``."""
        return sum(words in e.message for e in self.events)

    def errors(self) -> list[str]:
        return [e.message for e in self.events if e.kind is Kind.ERROR]
