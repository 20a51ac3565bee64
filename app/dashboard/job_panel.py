"""The current job: what it is, progress, time left, loss and its curve, all from AppState.

Between jobs the bar is empty and the headline says what the last job paid; a new job starts
from zero (progress, loss, curve): the panel draws :class:`app.state.Now` and nothing else.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.charts import LineChart
from app.state import AppState, Now, task_words


class JobPanel(QGroupBox):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Current job", parent)
        self.job_title = QLabel("No job yet")
        self.job_title.setObjectName("jobTitle")
        self.state = QLabel("Starting")
        self.state.setObjectName("jobState")
        self.state.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Job progress")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.speed = QLabel("–")
        self.eta = QLabel("–")
        self.loss = QLabel("–")
        for label, name in ((self.speed, "Samples per second"), (self.eta, "Time left"), (self.loss, "Loss")):
            label.setAccessibleName(name)
        form = QFormLayout()
        form.addRow("Status", self.state)
        form.addRow("Loss", self.loss)
        form.addRow("Samples/s", self.speed)
        form.addRow("Time left", self.eta)
        self.chart = LineChart("Loss (lower is better)", "step")
        self.chart.setMinimumHeight(120)
        layout = QVBoxLayout(self)
        layout.addWidget(self.job_title)
        layout.addWidget(self.bar)
        layout.addLayout(form)
        layout.addWidget(self.chart, 1)
        self._state = state
        self._points_shown: tuple[tuple[int, float], ...] | None = None
        state.changed.connect(self.show_now)
        self.show_now(state.now)

    def show_now(self, now: Now) -> None:
        job = now.job
        self.state.setText(now.headline)
        if job is None:
            self.job_title.setText("No job yet")
        else:
            what = task_words(job.name).capitalize()
            self.job_title.setText(f"Task {job.task_id}: {what}" if now.working else f"Last job: task {job.task_id}")
        if now.working and job is not None and job.steps:
            self.bar.setRange(0, job.steps)
            self.bar.setValue(min(job.step, job.steps))
            self.bar.setFormat(now.progress_text)
            self.speed.setText(f"{job.samples_per_s:,.0f}" if job.samples_per_s is not None else "–")
            self.loss.setText(f"{job.loss:.4f}" if job.loss is not None else "–")
        else:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat("")
            self.speed.setText("–")
            self.loss.setText(f"{job.loss:.4f} (last job)" if job is not None and job.loss is not None else "–")
        self.eta.setText(now.time_left)
        if now.points is not self._points_shown and self.isVisible():
            self._draw(now)

    def _draw(self, now: Now) -> None:
        self._points_shown = now.points
        self.chart.set_points([p[0] for p in now.points], [p[1] for p in now.points])

    def showEvent(self, event: object) -> None:
        self._draw(self._state.now)  # the curve is drawn only while visible
        super().showEvent(event)  # type: ignore[arg-type]
