"""Training one job: the runner subprocess under the idle policy, and its progress."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from engine.errors import CheckpointError, RunnerError
from engine.events import EngineState, Kind
from engine.gpu.policy import Action
from engine.runner.client import RunnerProcess
from engine.runner.protocol import RunnerEvent
from engine.tasks.spec import BlobData
from engine.training.jobdir import JobDir
from engine.worker.controller import DONE, ERROR, RUNNING, YieldController
from engine.worker.reporting import Reporting
from engine.worker.states import Job, TrainingStopped
from engine.worker.uploader import CheckpointUploader

# With more cores than this, the next spare runner starts while a job trains (its torch import
# runs on a free core); with this many or fewer it starts once training ends, as on the 2-core VM
# where it took a core from training: bench.protocol's runner training took 0.67 s for what
# trains in 0.47 s in-process.
SPARE_DURING_TRAINING_MIN_CORES = 3


def spare_during_training(cores: int | None = None) -> bool:
    """Whether to start the next spare runner while a job trains, given this machine's cores."""
    return (cores if cores is not None else os.cpu_count() or 1) >= SPARE_DURING_TRAINING_MIN_CORES


class Training(Reporting):
    """Drives :class:`engine.worker.controller.YieldController` until the job's run is done."""

    def train(self, job: Job) -> Path:
        """Train ``job`` in its folder under the idle policy; return the folder once done.

        The only source of what gets uploaded and committed: afterwards the worker reads the
        folder's ``manifest.json`` (leaf hashes, final loss, metrics) and its
        ``ckpt-NNNNN.safetensors`` files, computes the Merkle root from the leaves and commits
        that. Subclasses may override it to tamper with the folder before it is uploaded:
        the end-to-end tests' cheating workers call ``super().train(job)`` and then skip
        steps, write random weights, repeat a stale checkpoint or train on wrong data
        (``tests/e2e/cheats.py``); ``job.checked`` is the task's checked spec.

        A folder already holding the finished run is returned at once (restart after a crash);
        otherwise the runner subprocess resumes from the folder's last checkpoint. Raises
        :class:`TrainingStopped` when the worker is stopped first (the runner saved a resume
        point) and :class:`RunnerError` when training fails.
        """
        if _finished(job):
            return job.dir
        blobs = self._fetch_datasets(job)
        ctl = YieldController(
            job.spec_path, job.dir, self.backend, self.policy, user_idle=self.user_idle, on_battery=self.on_battery,
            on_event=lambda event: self._on_runner_event(job, event), device=self.config.device,
            need_mib=int(job.checked.estimate.memory_mb), poll_s=self.config.controller_poll_s,
            progress_every_s=self.config.progress_every_s, runner_factory=lambda: self._runner_for(blobs),
        )
        self._train_started: float | None = None  # set by the runner's "started": speed excludes its start-up
        with self._lock:
            self._controller = ctl
        try:
            while not ctl.finished and not self._stop.is_set():
                ctl.tick()
                self._controller_state(job, ctl)
                deadline = time.monotonic() + self.config.controller_poll_s
                while not ctl.finished and (left := deadline - time.monotonic()) > 0 and not self._stop.is_set():
                    if ctl.runner is None:
                        self._stop.wait(left)
                    else:
                        ctl.pump(timeout=min(left, 0.05))
        finally:
            if not ctl.finished:
                ctl.close()
            with self._lock:
                self._controller = None
            done = ctl.release()  # a done job's runner: the next job's, if it says free (no new process)
            if done is not None:
                assert isinstance(done, RunnerProcess)  # what _runner_for hands the controller
                self._runners.give_back(done)
            self._runners.refill()  # the next spare, unless one is ready or starting already
        if ctl.state == ERROR:
            raise RunnerError(f"training task {job.task_id} failed: {ctl.error}")
        if ctl.state != DONE:
            self._set_state(EngineState.PAUSED, "stopped: training checkpointed", job=job)
            raise TrainingStopped()
        elapsed = time.monotonic() - (self._train_started or time.monotonic())
        if ctl.done and not ctl.done.get("resumed_from") and elapsed > 1:
            self._measured_flops = job.checked.estimate.total_flops / elapsed
        return job.dir

    def _runner_for(self, blobs: Path) -> RunnerProcess:
        runner = self._runners.take(warm_next=spare_during_training())
        runner._blobs = blobs  # type: ignore[attr-defined]
        return runner

    def _controller_state(self, job: Job, ctl: YieldController) -> None:
        if ctl.decision is not None:
            self._gpu_decision(ctl.decision)
        if ctl.state == RUNNING:
            self._set_state(EngineState.WORKING, f"training task {job.task_id}", job=job)
            return
        decision = ctl.decision
        if self._pause_reason is not None:
            state, reason = EngineState.PAUSED, self._pause_reason
        elif decision is not None and decision.action is Action.PAUSE:
            state, reason = EngineState.PAUSED, decision.reason
        else:
            state, reason = EngineState.WAITING, ctl.reason
        self._set_state(state, reason, job=job)

    def _on_runner_event(self, job: Job, event: RunnerEvent) -> None:
        if event["event"] == "progress":
            with self._lock:
                self._status = replace(self._status, task_id=job.task_id, task_name=job.name, step=event["step"],
                                       steps=event["steps"], loss=event["loss"],
                                       samples_per_s=event["samples_per_s"], eta_s=event["eta_s"])
            self._emit(Kind.PROGRESS, f"task {job.task_id}: step {event['step']}/{event['steps']}", job.task_id,
                       step=event["step"], steps=event["steps"], loss=event["loss"],
                       samples_per_s=event["samples_per_s"], eta_s=event["eta_s"])
        elif event["event"] == "checkpoint":
            self._update(job.task_id, steps_done=event["step"])
            uploader = self._uploaders.get(job.task_id)
            if uploader is None:
                uploader = self._uploaders[job.task_id] = CheckpointUploader(self.store)
            uploader.submit(event["index"], event["leaf"], JobDir(job.dir).checkpoint_path(event["index"]))
        elif event["event"] == "started":
            self._train_started = time.monotonic()
            self._record_device(job, event["device"].split(":")[0], event["arithmetic"])

    def _record_device(self, job: Job, device: str, arithmetic: str) -> None:
        """The device type and arithmetic in the result manifest: a job resumed on another is
        "mixed", which no exact-mode verifier can replay bit for bit (so it is never challenged)."""
        detail = self._row(job.task_id).detail or {}
        if detail.get("device") not in (None, device):
            device = "mixed"
            self._emit(Kind.LOG, f"task {job.task_id} resumed on another device type: its result cannot be "
                                 "verified exactly", job.task_id)
        if detail.get("arithmetic") not in (None, arithmetic):
            arithmetic = "mixed"
            self._emit(Kind.LOG, f"task {job.task_id} resumed with other arithmetic ({detail.get('arithmetic')} "
                                 "before): its result cannot be verified exactly", job.task_id)
        self._update(job.task_id, detail={"device": device, "arithmetic": arithmetic})

    def _fetch_datasets(self, job: Job) -> Path:
        """Dataset blobs into the local cache the runner reads (``<dir>/<sha256>``)."""
        root = self.config.blobs_root()
        root.mkdir(parents=True, exist_ok=True)
        dataset = job.checked.spec.dataset
        if isinstance(dataset, BlobData) and not (root / dataset.sha256).is_file():
            self.store.get_file(dataset.sha256, root / dataset.sha256, max_size=dataset.size)
        return root

def _finished(job: Job) -> bool:
    try:
        manifest = JobDir(job.dir).read_manifest()
    except CheckpointError:
        return False
    return (manifest is not None and manifest.result is not None
            and len(manifest.leaves) == job.checked.spec.num_checkpoints)
