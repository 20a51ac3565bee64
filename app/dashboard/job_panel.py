"""The current job: name, state and why paused, progress bar, live loss chart, speed, ETA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.bridge import EngineBridge, state_of
from app.format import duration, state_line
from engine.events import EngineEvent, EngineState

MAX_POINTS = 5000  # the loss curve keeps this many points (every other one dropped beyond)


class JobPanel(QGroupBox):
    """Follows STATE, JOB and PROGRESS events from the bridge."""

    def __init__(self, bridge: EngineBridge, *, status: Callable[[], Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Current job", parent)
        self._status = status  # the worker's status() (its task_name), where there is a worker
        self.task_id: int | None = None
        self.task_name: str | None = None
        self.title = QLabel("No job yet")
        self.title.setObjectName("jobTitle")
        self.state = QLabel("Starting")
        self.state.setObjectName("jobState")
        self.state.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.speed = QLabel("–")
        self.eta = QLabel("–")
        self.loss = QLabel("–")
        form = QFormLayout()
        form.addRow("Status", self.state)
        form.addRow("Loss", self.loss)
        form.addRow("Samples/s", self.speed)
        form.addRow("Time left", self.eta)
        self.chart = pg.PlotWidget()
        self.chart.setBackground(None)
        self.chart.setLabel("bottom", "step")
        self.chart.setLabel("left", "loss")
        self.chart.setMinimumHeight(140)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.curve = self.chart.plot([], [], pen=pg.mkPen("#16a34a", width=2))
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._redraw_pending = False
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addLayout(form)
        layout.addWidget(self.chart)
        bridge.state_changed.connect(self.on_state)
        bridge.progress.connect(self.on_progress)
        bridge.job.connect(self.on_job)
        self.on_state_values(*bridge.state())

    def on_state(self, event: EngineEvent) -> None:
        self.on_state_values(state_of(event), str(event.data.get("reason", "")))

    def on_state_values(self, state: EngineState, reason: str) -> None:
        self.state.setText(state_line(state, reason))
        if state is not EngineState.WORKING:
            self.speed.setText("–")
            self.eta.setText("–")

    def on_job(self, event: EngineEvent) -> None:
        if event.task_id is None:
            return
        if event.task_id != self.task_id:
            self._new_task(event.task_id, event.data.get("name"))
        elif self.task_name is None:
            self.task_name = self._name_from_status(event.task_id)
        label = f"Task {event.task_id}" + (f": {self.task_name}" if self.task_name else "")
        job_state = event.data.get("state")
        self.title.setText(f"{label} ({job_state})" if job_state else label)

    def on_progress(self, event: EngineEvent) -> None:
        d = event.data
        if event.task_id is not None and (event.task_id != self.task_id or self.task_name is None):
            if event.task_id != self.task_id:
                self._new_task(event.task_id, d.get("name"))
            else:
                self.task_name = self._name_from_status(event.task_id)
            if self.task_name is not None or not self.title.text().startswith(f"Task {event.task_id}"):
                self.title.setText(f"Task {event.task_id}" + (f": {self.task_name}" if self.task_name else ""))
        step, steps = int(d.get("step") or 0), int(d.get("steps") or 0)
        if steps > 0:
            self.bar.setRange(0, steps)
            self.bar.setValue(min(step, steps))
            self.bar.setFormat(f"%p%  (step {step:,} of {steps:,})")
        loss = d.get("loss")
        if loss is not None:
            self.loss.setText(f"{float(loss):.4f}")
            self._add_point(step, float(loss))
        rate = d.get("samples_per_s")
        self.speed.setText(f"{float(rate):,.0f}" if rate is not None else "–")
        self.eta.setText(duration(d.get("eta_s")))

    def _new_task(self, task_id: int, name: Any = None) -> None:
        self.task_id = task_id
        self.task_name = str(name) if name else self._name_from_status(task_id)
        self.steps.clear()
        self.losses.clear()
        self.curve.setData([], [])
        self.bar.setRange(0, 1)
        self.bar.setValue(0)

    def _name_from_status(self, task_id: int) -> str | None:
        status = self._status() if self._status is not None else None
        if status is not None and getattr(status, "task_id", None) == task_id:
            return getattr(status, "task_name", None)
        return None

    def _add_point(self, step: int, loss: float) -> None:
        if self.steps and step <= self.steps[-1]:  # a resumed runner repeats steps: keep the newest
            while self.steps and self.steps[-1] >= step:
                self.steps.pop()
                self.losses.pop()
        self.steps.append(step)
        self.losses.append(loss)
        if len(self.steps) > MAX_POINTS:
            self.steps[:] = self.steps[::2]
            self.losses[:] = self.losses[::2]
        if self.isVisible() and not self._redraw_pending:  # one redraw per batch of events
            self._redraw_pending = True
            QTimer.singleShot(0, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.curve.setData(self.steps, self.losses)

    def showEvent(self, event: object) -> None:  # noqa: N802 (Qt's name)
        self.curve.setData(self.steps, self.losses)
        super().showEvent(event)
