"""The one model of what idlegrid is doing now: every view (headline, job panel, tray) reads it.

The engine's events arrive in an order that made the old panels contradict each other: a
PROGRESS of the new task before its JOB event, a JOB "paid" of an old task while a new one
trains, a STATE "waiting" after the last step. :class:`AppState` folds them into one
:class:`Now`, the only thing views draw from, so they cannot disagree:

- a PROGRESS or a JOB "claiming"/"training" event of another task starts a new job: progress,
  loss, time left and the loss curve reset;
- JOB events of older tasks (uploaded, paid) update the history, never the current job;
- between jobs the headline says "Idle: last job paid X" (the reward only: the returned stake
  is the user's own money, never shown as earnings);
- pause, snooze and their reasons are worded once, here, in plain words.

The user's own pause, resume and snooze take effect in the model at once (the engine confirms
a tick later), so the tray and the dashboard never lag behind a click.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.bridge import EngineBridge, state_of
from app.format import duration, eth
from engine.events import EngineEvent, EngineState

NEW_JOB_STATES = ("claiming", "claimed", "training")
MAX_POINTS = 2000  # the loss curve keeps this many points (every other one dropped beyond)


class Activity(StrEnum):
    """What the headline leads with."""

    STARTING = "Starting"
    EARNING = "Earning"
    IDLE = "Idle"
    WAITING = "Waiting"
    PAUSED = "Paused"
    SNOOZED = "Snoozed"
    CPU_MODE = "CPU mode"
    ERROR = "Needs attention"
    STOPPED = "Stopped"


@dataclass(frozen=True)
class Job:
    """The job being trained (or the last one, between jobs)."""

    task_id: int
    name: str = ""
    step: int = 0
    steps: int = 0
    loss: float | None = None
    samples_per_s: float | None = None
    eta_s: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.steps) if self.steps else 0.0


@dataclass(frozen=True)
class Now:
    """Everything a view shows about the present."""

    activity: Activity = Activity.STARTING
    why: str = "starting the engine"
    job: Job | None = None
    working: bool = False
    last_paid_wei: int | None = None
    last_paid_task: int | None = None
    cpu_mode: bool = False
    user_paused: bool = False
    snoozed: bool = False
    points: tuple[tuple[int, float], ...] = field(default=(), repr=False)

    @property
    def headline(self) -> str:
        """The one line every view leads with: "Earning: training a digits model"."""
        return f"{self.activity.value}: {self.why}" if self.why else self.activity.value

    @property
    def progress_text(self) -> str:
        job = self.job
        if not self.working or job is None or not job.steps:
            return ""
        return f"{100 * job.fraction:.0f} % (step {job.step:,} of {job.steps:,})"

    @property
    def time_left(self) -> str:
        return duration(self.job.eta_s) if self.working and self.job is not None else "–"

    @property
    def tray_line(self) -> str:
        """Short enough for a tray menu (about 60 characters)."""
        if self.working and self.job is not None and self.job.steps:
            left = f", {self.time_left} left" if self.job.eta_s is not None else ""
            return f"Earning: task {self.job.task_id} {100 * self.job.fraction:.0f} %{left}"
        return _clip(self.headline, 60)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def task_words(name: str) -> str:
    """A task's spec name in words: "digits-mlp-seed-7" -> "training a digits model"."""
    base = re.sub(r"[-_]seed[-_]?\d+$", "", name or "").strip()
    if not base:
        return "training a model"
    kind = re.split(r"[-_]", base)[0]
    return f"training a {kind} model"


_PREFIX = re.compile(r"^(paused|waiting|running)\s*:\s*", re.IGNORECASE)


def plain_reason(reason: str, *, cpu_mode: bool = False) -> str:
    """An engine reason in plain words: no "paused: paused:", no config keys, GPU/CPU right."""
    text = reason.strip()
    while _PREFIX.match(text):
        text = _PREFIX.sub("", text, count=1)
    text = re.sub(r"\s*\((run_when|[a-z_]+ = [^)]*)[^)]*\)", "", text)
    if cpu_mode:
        text = text.replace("of the GPU", "of the CPU").replace("uses the GPU", "uses the CPU")
    text = text.replace("allowed at all times", "allowed at any time").replace("others use", "other programs use")
    text = re.sub(r"no GPU: .*(libnvidia|NVML|nvml).*", "no NVIDIA GPU found (no NVIDIA driver)", text)
    return text


class AppState(QObject):
    """Follows the bridge; ``changed`` carries the new :class:`Now` after every change."""

    changed = Signal(object)

    def __init__(self, bridge: EngineBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.now = Now()
        self.status: Callable[[], Any] | None = None  # the worker's status(): task names events lack
        self._engine_state, self._engine_reason = bridge.state()
        bridge.state_changed.connect(self.on_state)
        bridge.progress.connect(self.on_progress)
        bridge.job.connect(self.on_job)
        bridge.notice.connect(self.on_notice)
        self._apply_state()

    # engine -> model -----------------------------------------------------------------------
    def on_state(self, event: EngineEvent) -> None:
        self._engine_state, self._engine_reason = state_of(event), str(event.data.get("reason", ""))
        if self._engine_state is not EngineState.PAUSED:
            self._set(user_paused=False, snoozed=False)
        elif self._engine_reason.startswith("snoozed"):
            self._set(snoozed=True)
        elif self._engine_reason == "paused by you":
            self._set(user_paused=True)
        self._apply_state()

    def on_progress(self, event: EngineEvent) -> None:
        if event.task_id is None:
            return
        d = event.data
        job = self._job_for(event.task_id, d.get("name"))
        step, steps = int(d.get("step") or 0), int(d.get("steps") or job.steps)
        rate, eta = d.get("samples_per_s"), d.get("eta_s")
        loss = float(d["loss"]) if d.get("loss") is not None else job.loss
        job = replace(job, step=step, steps=steps, loss=loss,
                      samples_per_s=float(rate) if rate is not None else None,
                      eta_s=float(eta) if eta is not None else None)
        points = self.now.points
        if loss is not None:
            points = (*(p for p in points if p[0] < step), (step, loss))  # a resumed run repeats steps
            if len(points) > MAX_POINTS:
                points = points[::2]
        self._set(job=job, points=points)
        self._apply_state()

    def on_job(self, event: EngineEvent) -> None:
        if event.task_id is None:
            return
        state = str(event.data.get("state") or "")
        if state in NEW_JOB_STATES:
            name = str(event.data.get("name") or "") or _name_in(event.message)
            self._job_for(event.task_id, name)
            self._apply_state()

    def on_notice(self, event: EngineEvent) -> None:
        """A "paid" notice: remember the reward (never reward + stake) for "last job paid"."""
        reward = event.data.get("reward")
        if reward is not None and event.task_id is not None and " paid" in event.message:
            self._set(last_paid_wei=int(reward), last_paid_task=event.task_id)
            self._apply_state()

    def set_cpu_mode(self, cpu: bool) -> None:
        """The GPU panel's finding: training runs on the CPU (no NVIDIA GPU found)."""
        if cpu != self.now.cpu_mode:
            self._set(cpu_mode=cpu)
            self._apply_state()

    # the user's own actions, at once --------------------------------------------------------
    def user_paused(self) -> None:
        self._engine_state, self._engine_reason = EngineState.PAUSED, "paused by you"
        self._set(user_paused=True, snoozed=False)
        self._apply_state()

    def user_snoozed(self, until_text: str) -> None:
        self._engine_state, self._engine_reason = EngineState.PAUSED, f"snoozed until {until_text}"
        self._set(snoozed=True, user_paused=False)
        self._apply_state()

    def user_resumed(self) -> None:
        self._engine_state, self._engine_reason = EngineState.WAITING, "looking for tasks"
        self._set(user_paused=False, snoozed=False)
        self._apply_state()

    # internals -----------------------------------------------------------------------------
    def _job_for(self, task_id: int, name: object) -> Job:
        """The current job, or a fresh one (progress, loss, curve reset) for another task."""
        job = self.now.job
        if not name and self.status is not None:
            status = self.status()
            name = getattr(status, "task_name", None) if getattr(status, "task_id", None) == task_id else None
        if job is None or job.task_id != task_id:
            job = Job(task_id=task_id, name=str(name or ""))
            self._set(job=job, points=())
        elif name and not job.name:
            job = replace(job, name=str(name))
            self._set(job=job)
        return job

    def _set(self, **changes: object) -> None:
        self.now = replace(self.now, **changes)  # type: ignore[arg-type]

    def _apply_state(self) -> None:
        state, reason, now = self._engine_state, self._engine_reason, self.now
        cpu = now.cpu_mode or state is EngineState.NO_GPU
        working = state is EngineState.WORKING and now.job is not None
        why = plain_reason(reason, cpu_mode=cpu)
        if state is EngineState.WORKING:
            activity = Activity.EARNING
            why = task_words(now.job.name) if now.job is not None else why
            if cpu:
                why += " on the CPU"
        elif state is EngineState.PAUSED and now.snoozed:
            activity, why = Activity.SNOOZED, why.removeprefix("snoozed ").strip() or why
        elif state is EngineState.PAUSED:
            activity = Activity.PAUSED
            why = "by you" if now.user_paused else why
        elif state is EngineState.NO_GPU:
            activity, why = Activity.CPU_MODE, "no NVIDIA GPU found"
        elif state is EngineState.ERROR:
            activity = Activity.ERROR
        elif state is EngineState.STOPPED:
            activity = Activity.STOPPED
        elif state is EngineState.STARTING:
            activity = Activity.STARTING
        elif now.last_paid_wei is not None:
            activity, why = Activity.IDLE, f"last job paid {eth(now.last_paid_wei)}"
        else:
            activity = Activity.WAITING
        self._set(activity=activity, why=why, working=working)
        self.changed.emit(self.now)


def _name_in(message: str) -> str:
    """The spec name in a JOB message: "training task 12 (digits-mlp-seed-3)"."""
    match = re.search(r"\(([^()]+)\)", message)
    return match.group(1) if match else ""
