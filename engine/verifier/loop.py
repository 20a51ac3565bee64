"""The verifier's loop, shared by v1's :class:`~engine.verifier.verifier.Verifier` and
:class:`~engine.verifier.verifier_v2.VerifierV2`: run turns until stopped, read new events."""

from __future__ import annotations

import threading

from engine.chain.events import EventCursor
from engine.chain.records import MarketEvent
from engine.errors import IdlegridError, UsageError
from engine.events import EngineState, Kind
from engine.verifier.base import M, VerifierBase


class Loop(VerifierBase[M]):
    """``run`` calls ``step``; each version supplies its duties, its audits and ``_on_event``
    (the stake calls come from :class:`~engine.verifier.stake.StakeBase`, earlier in the MRO)."""

    def step(self) -> bool:
        """One turn; False when there was nothing to do. In order: settle what a crash left
        journaled (once), register (once), read new events, jury duties (they have deadlines),
        then one audit step if nothing else was done, then pull credits with ``auto_withdraw``."""
        busy = False
        if not self._reconciled:
            busy |= self._reconcile()
            self._reconciled = True
        if not self._registered_checked:
            busy |= self._ensure_registered()
            self._registered_checked = True
        busy |= self._read_events()
        busy |= self._jury_work()
        if not busy:
            busy |= self._audit()
        if self.config.auto_withdraw and self.market.credits(self.address) > 0:
            self.withdraw()
            busy = True
        return busy

    def _jury_work(self) -> bool:
        """Jury work whose deadlines cannot wait for an audit; True when something was done."""
        raise NotImplementedError

    def _audit(self) -> bool:
        """One step of one audit (the slow part: a replay); True when something was done."""
        raise NotImplementedError

    def _on_event(self, event: MarketEvent) -> None:
        raise NotImplementedError

    def _ensure_registered(self) -> bool:
        raise NotImplementedError

    def withdraw(self) -> str | None:
        raise NotImplementedError

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; transient trouble (node, blob store, replay) is reported
        and retried after ``poll_interval_s``."""
        self._emit(Kind.STATE, f"verifier {self.address} on market {self.market.address}",
                   data={"state": EngineState.STARTING.value, "reason": "starting"})
        while not stop.is_set():
            try:
                busy = self.step()
            except UsageError:
                raise  # the user must fix an option or a setting
            except IdlegridError as e:  # the node, the blob store, a replay, the disk: try again
                self._emit(Kind.LOG, f"will retry: {e.message}", data={"hint": e.hint or ""})
                busy = False
            if not busy:
                stop.wait(self.config.poll_interval_s)
        self._emit(Kind.STATE, "verifier stopped", data={"state": EngineState.STOPPED.value, "reason": "stopped"})

    def _read_events(self) -> bool:
        poller = self.market.poller()
        if self._cursor.next_block is None:
            start = self.config.start_block
            if start is None:
                start = max(0, poller.safe_head() - self.config.lookback_blocks)
            self._cursor.next_block = start
        events, cursor = poller.poll(EventCursor(self._cursor.next_block))
        for event in events:
            self._on_event(event)
        changed = cursor.next_block != self._cursor.next_block
        self._cursor.next_block = cursor.next_block
        if changed:
            self._cursor.save()
        return bool(events)
