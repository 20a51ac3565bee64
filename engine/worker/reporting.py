"""The worker's status and events: what the tray, the CLI's status line and the history see."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.errors import IdlegridError
from engine.events import EngineEvent, EngineState, Kind
from engine.gpu.policy import Decision
from engine.units import format_eth
from engine.worker.base import WorkerBase
from engine.worker.states import NETWORK_DOWN, Job, WorkerState


class Reporting(WorkerBase):
    """State changes, GPU verdicts, network outages, errors and earnings, each emitted once."""

    def _set_state(self, state: EngineState, reason: str, *, job: Job | None = None) -> None:
        with self._lock:
            old = self._status
            status = replace(old, state=state, reason=reason)
            if job is not None:
                status = replace(status, task_id=job.task_id, task_name=job.name)
            elif state is not EngineState.WORKING and old.state is EngineState.WORKING:
                status = replace(status, task_id=None, task_name=None, step=None, steps=None, loss=None,
                                 samples_per_s=None, eta_s=None)
            self._status = status
        if (old.state, old.reason) != (state, reason):
            self._emit(Kind.STATE, reason, status.task_id, state=state.value, reason=reason)

    def _gpu_decision(self, decision: Decision) -> None:
        """A GPU event when the idle policy's verdict changes (not at every tick)."""
        key = (decision.action, decision.rule, decision.blocking)
        if key != self._last_decision:
            self._last_decision = key
            self._emit(Kind.GPU, decision.reason, None, decision=decision.action.value, rule=decision.rule.value,
                       blockers=[rule.value for rule in decision.blocking])

    def _idle(self, reason: str) -> None:
        self._set_state(EngineState.WAITING, reason)

    def _network_down(self, e: IdlegridError) -> None:
        self._set_state(EngineState.WAITING, NETWORK_DOWN)
        if not self._offline:
            self._offline = True
            self._emit(Kind.LOG, f"{NETWORK_DOWN}: {e.message}", None)

    def _network_up(self) -> None:
        self._last_error = None
        if self._offline:
            self._offline = False
            self._emit(Kind.LOG, "the network is back", None)
            self._idle("looking for tasks")

    def _error(self, e: IdlegridError) -> None:
        self._set_state(EngineState.ERROR, e.message)
        if e.message != self._last_error:  # once, not at every retry
            self._last_error = e.message
            self._emit(Kind.ERROR, e.message, None, hint=e.hint)

    def _job_event(self, task_id: int, state: WorkerState, message: str, *, tx_hash: str | None = None) -> None:
        self._emit(Kind.JOB, message, task_id, state=state, **({"tx_hash": tx_hash} if tx_hash else {}))

    def _earnings_changed(self) -> None:
        credits = self.market.credits(self.account)
        e = self.history.earnings(self.chain_id, self.market.address, credits)
        totals = (e.pending, e.claimable, e.withdrawn)
        if totals != self._last_earnings:
            self._last_earnings = totals
            self._emit(Kind.EARNINGS, f"claimable {format_eth(e.claimable, digits=6)} ETH", None,
                       pending=e.pending, claimable=e.claimable, withdrawn=e.withdrawn)

    def _emit(self, kind: Kind, message: str, task_id: int | None, **data: Any) -> None:
        event = EngineEvent(kind, message, task_id, data)
        if kind not in (Kind.PROGRESS, Kind.GPU, Kind.STATE):
            self.history.add_event(event)
        self.listener(event)
