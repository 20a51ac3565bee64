"""The deterministic trainer.

Knows nothing of chains, GUIs or processes: it trains a checked spec into a job folder,
reports through hooks, and lets its host pause or stop it at step boundaries through the
``control`` hook. Segment ``i`` (checkpoint ``i`` -> ``i + 1``) is a pure function of the
spec and checkpoint ``i``; ``run_segment`` is shared by training and replay so they cannot
drift apart.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.commit.merkle import MerkleTree
from engine.errors import CheckpointError, TrainingError
from engine.tasks import spec as s
from engine.tasks.load import CheckedSpec
from engine.training import checkpoint as ckpt
from engine.training.datasets import BlobSource, Data, Split, load_data
from engine.training.determinism import configure
from engine.training.jobdir import JobDir, Manifest
from engine.training.model import build_model
from engine.training.packed import Packed, Packer
from engine.training.portable_random import DrawCounter, attach_counter
from engine.training.sampling import (
    STREAM_BATCHES,
    STREAM_INIT,
    batch_indices,
    derive,
    permutation,
)
from engine.training.schedule import lr_at

EVAL_BATCH = 1024


class StopRequested(Exception):
    """Raised by a ``control`` hook to stop at the current step boundary (state is saved)."""


@dataclass(frozen=True)
class Progress:
    step: int  # steps completed
    steps: int
    loss: float
    samples_per_s: float
    eta_s: float


@dataclass(frozen=True)
class CheckpointInfo:
    index: int
    step: int
    leaf: str
    path: Path


@dataclass
class Hooks:
    on_progress: Callable[[Progress], None] | None = None
    on_checkpoint: Callable[[CheckpointInfo], None] | None = None
    control: Callable[[int], None] | None = None  # before each step; may block or raise StopRequested
    progress_every_s: float = 0.5


@dataclass(frozen=True)
class TrainResult:
    merkle_root: str
    leaves: list[str]
    steps: int
    final_loss: float
    metrics: dict[str, float]
    resumed_from_step: int | None = None
    stopped_at_step: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "merkle_root": self.merkle_root,
            "leaves": len(self.leaves),
            "steps": self.steps,
            "final_loss": self.final_loss if math.isfinite(self.final_loss) else None,
            "metrics": self.metrics,
        }


def make_optimizer(spec: s.TaskSpec, model: nn.Module) -> torch.optim.Optimizer:
    o = spec.optimizer
    params = model.parameters()
    if isinstance(o, s.Sgd):
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov,
                               weight_decay=o.weight_decay)
    cls = torch.optim.Adam if isinstance(o, s.Adam) else torch.optim.AdamW
    return cls(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)


def loss_fn(spec: s.TaskSpec, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if spec.loss == "cross_entropy":
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    return F.mse_loss(out, y)


@dataclass
class Session:
    """Model, optimizer and data of one spec, ready to run steps."""

    checked: CheckedSpec
    data: Data
    model: nn.Module
    optimizer: torch.optim.Optimizer
    device: str
    dropout: bool = field(init=False)

    def __post_init__(self) -> None:
        spec = self.checked.spec
        self.draws = DrawCounter(spec.seed)
        self.dropout = attach_counter(self.model, self.draws)
        self._n = len(self.data.train)
        self._order = torch.empty(0, dtype=torch.int64)  # epochs [_lo/n, _hi/n) of batch order
        self._lo = self._hi = 0
        self._packer = Packer(self.model, self.optimizer)

    @classmethod
    def open(cls, checked: CheckedSpec, device: str = "cpu", blobs: BlobSource | None = None) -> Session:
        spec = checked.spec
        configure(spec.threads)
        data = load_data(spec, blobs, device)
        torch.manual_seed(derive(spec.seed, STREAM_INIT))
        model = build_model(spec).to(device)
        return cls(checked, data, model, make_optimizer(spec, model), device)

    def snapshot(self, step: int) -> ckpt.Snapshot:
        return ckpt.snapshot(step, self.model, self.optimizer)

    def pack(self, step: int) -> Packed:
        """The state at ``step`` copied into one buffer, not yet hashed (see ``_LeafWriter``)."""
        return self._packer.pack(step)

    def restore(self, snap: ckpt.Snapshot, where: str) -> None:
        ckpt.restore(snap, self.model, self.optimizer, where)

    def batch(self, step: int) -> torch.Tensor:
        """Indices of step ``step``'s batch: ``batch_indices``, sliced from a window of two
        consecutive epoch permutations kept on the training device, so a step costs one slice
        (a batch that straddles two epochs is the end of one and the start of the next,
        exactly as ``batch_indices`` orders it)."""
        bs = self.checked.spec.batch_size
        first = step * bs
        if first < self._lo or first + bs > self._hi:
            if bs > self._n:  # a batch longer than an epoch: rare, not worth a window
                return torch.from_numpy(batch_indices(self.checked.spec.seed, step, bs, self._n)).to(self.device)
            self._slide(first // self._n)
        return self._order[first - self._lo : first - self._lo + bs]

    def _slide(self, epoch: int) -> None:
        seed, n = self.checked.spec.seed, self._n
        perms = [permutation(seed, STREAM_BATCHES, e, n) for e in (epoch, epoch + 1)]
        self._order = torch.from_numpy(np.concatenate(perms)).to(self.device)
        self._lo, self._hi = epoch * n, (epoch + 2) * n

    def step(self, step: int) -> torch.Tensor:
        """One optimisation step; everything random or scheduled derives from (seed, step)."""
        spec, train, model, optimizer = self.checked.spec, self.data.train, self.model, self.optimizer
        idx = self.batch(step)
        if self.dropout:
            self.draws.at_step(step)
        if not model.training:  # train() walks every submodule; only evaluate() leaves eval mode
            model.train()
        loss = loss_fn(spec, model(train.x[idx]), train.y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        lr = lr_at(spec, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        return loss.detach()

    def run_segment(self, start: int, end: int, control: Callable[[int], None] | None = None,
                    each: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor | None:
        loss = None
        for st in range(start, end):
            if control is not None:
                control(st)
            loss = self.step(st)
            if each is not None:
                each(st + 1, loss)
        return loss

    @torch.no_grad()
    def evaluate(self, split: Split) -> dict[str, float]:
        spec = self.checked.spec
        self.model.eval()
        total_loss, correct, count, items = 0.0, 0, 0, 0
        for i in range(0, len(split), EVAL_BATCH):
            x, y = split.x[i : i + EVAL_BATCH], split.y[i : i + EVAL_BATCH]
            out = self.model(x)
            total_loss += float(loss_fn(spec, out, y)) * len(x)
            count += len(x)
            if spec.loss == "cross_entropy":
                correct += int((out.argmax(dim=-1) == y).sum())
                items += y.numel()
        mean = total_loss / count
        metrics = {"heldout_loss": round(mean, 6)}
        metric = spec.evaluation.metric
        if metric == "accuracy":
            metrics["accuracy"] = round(correct / items, 6)
        elif metric == "perplexity":
            metrics["perplexity"] = round(math.exp(min(mean, 50.0)), 4)
        else:
            metrics["mse"] = round(mean, 6)
        # a diverged model (NaN weights) has no loss to report; JSON has no NaN
        return {name: value for name, value in metrics.items() if math.isfinite(value)}


class Trainer:
    """Trains one checked spec into one job folder, resuming whatever the folder holds."""

    def __init__(self, checked: CheckedSpec, out_dir: str | Path, *, device: str = "cpu",
                 hooks: Hooks | None = None, blobs: BlobSource | None = None) -> None:
        self.checked, self.spec = checked, checked.spec
        self.job = JobDir(out_dir)
        self.device, self.hooks, self.blobs = device, hooks or Hooks(), blobs

    def _manifest(self) -> tuple[Manifest, ckpt.Snapshot | None]:
        """The job's manifest and the newest usable state in it (None: start afresh)."""
        m = self.job.read_manifest()
        if m is None:
            return Manifest(self.checked.sha256, self.spec.steps, self.spec.checkpoint_every), None
        if m.spec_sha256 != self.checked.sha256:
            raise CheckpointError(f"{self.job.root} holds checkpoints of another task (spec {m.spec_sha256[:12]}…)",
                                  hint="choose another --out folder, or delete this one")
        last = self.job.last_valid_leaf(m)
        m.leaves = m.leaves[: last + 1]
        best = ckpt.read(self.job.checkpoint_path(last)) if last >= 0 else None
        if m.resume and (best is None or m.resume["step"] > best.step):
            try:
                snap = ckpt.read(self.job.resume_path)
                if snap.leaf.hex() == m.resume["leaf"] and snap.step == m.resume["step"]:
                    best = snap
            except CheckpointError:
                pass
        return m, best

    def _save_resume(self, session: Session, m: Manifest, step: int) -> None:
        snap = session.snapshot(step)
        ckpt.write(snap, self.job.resume_path)
        m.resume = {"step": step, "leaf": snap.leaf.hex()}
        self.job.write_manifest(m)

    def run(self) -> TrainResult:
        spec = self.spec
        m, state = self._manifest()
        if m.result is not None and len(m.leaves) == spec.num_checkpoints:
            return self._result(m, None)
        session = Session.open(self.checked, self.device, self.blobs)
        self.job.root.mkdir(parents=True, exist_ok=True)
        with _short_gil_slices():
            return self._train(session, m, state)

    def _train(self, session: Session, m: Manifest, state: ckpt.Snapshot | None) -> TrainResult:
        spec = self.spec
        resumed = None
        if state is None:
            m.leaves = []
            start = 0
        else:
            session.restore(state, str(self.job.root))
            start = resumed = state.step
        self.job.write_manifest(m)  # the leaves that stand; new ones go to the log
        writer = _LeafWriter(self.job, m, self.hooks.on_checkpoint)
        if state is None:
            writer.submit(0, session.pack(0))
        index = len(m.leaves) if state is not None else 1  # the next leaf to write
        meter = _Meter(spec, start, self.hooks)
        last_loss = torch.tensor(float("nan"))
        step = start
        try:
            while step < spec.steps:
                end = spec.checkpoint_step(index)
                loss = session.run_segment(step, end, self.hooks.control, meter.tick)
                if loss is not None:  # None only for an empty segment, which checkpoint_step never gives
                    last_loss = loss
                step = end
                meter.report(step, last_loss)
                writer.submit(index, session.pack(step))
                index += 1
        except StopRequested:
            writer.close()
            step = meter.done
            if step > spec.checkpoint_step(index - 1):
                self._save_resume(session, m, step)
            else:
                m.resume = None
                self.job.write_manifest(m)
            return self._result(m, resumed, stopped=step)
        finally:
            writer.close()
        metrics = session.evaluate(session.data.heldout)
        final = float(last_loss)
        m.result = {"final_loss": round(final, 6) if start < spec.steps and math.isfinite(final) else None,
                    "metrics": metrics}
        self.job.write_manifest(m)
        return self._result(m, resumed)

    def _result(self, m: Manifest, resumed: int | None, stopped: int | None = None) -> TrainResult:
        res = m.result or {}
        root = MerkleTree([bytes.fromhex(x) for x in m.leaves]).root.hex() if m.leaves else ""
        final_loss = res.get("final_loss")
        return TrainResult("0x" + root, list(m.leaves), self.spec.steps if stopped is None else stopped,
                           float("nan") if final_loss is None else final_loss, res.get("metrics", {}),
                           resumed, stopped)


@contextmanager
def _short_gil_slices(interval_s: float = 0.0005) -> Iterator[None]:
    """Let the training loop take the GIL back from the checkpoint writer within 0.5 ms.

    The loop releases the GIL inside every torch op; when the writer holds it (hashing,
    serialising), the loop would wait up to Python's default 5 ms switch interval for it.
    Measured with ``bench.overhead``: about 2 % of a small model's training time.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval_s))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class _LeafWriter:
    """Hashes and writes leaf checkpoints on a background thread, in order, while training
    goes on: for small models the write would otherwise cost as much as the training.

    The training thread only copies the state into one buffer (``Session.pack``); this thread
    hashes it, writes the file in place, appends the leaf to ``leaves.log`` and to the
    in-memory manifest, then calls ``on_checkpoint``. Each call that releases the GIL trades it
    with the training thread, which costs the training thread tens of microseconds apiece on a
    small VM, so it makes as few as it can: one hash call, one ``writev``, no temp file, no
    rename, no manifest rewrite (see ``packed``). The queue
    is short, so at most two snapshots wait in memory. After ``close`` the manifest is the
    training thread's again.
    """

    def __init__(self, job: JobDir, manifest: Manifest, on_checkpoint: Callable[[CheckpointInfo], None] | None) -> None:
        self.job, self.m, self.on_checkpoint = job, manifest, on_checkpoint
        self.log = job.open_log()
        self.queue: queue.Queue[tuple[int, Packed] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="checkpoint-writer", daemon=True)
        self.thread.start()

    def submit(self, index: int, packed: Packed) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((index, packed))

    def _loop(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue
            index, packed = item
            try:
                leaf = packed.leaf().hex()
                path = self.job.checkpoint_path(index)
                packed.write(path)  # in place: its hash reaches the log only afterwards
                self.log.append(index, leaf)
                self.m.leaves.append(leaf)
                self.m.resume = None
                if self.on_checkpoint:
                    self.on_checkpoint(CheckpointInfo(index, packed.step, leaf, path))
            except BaseException as e:  # handed to the training thread at its next submit/close
                self.error = e

    def close(self) -> None:
        """Wait for every submitted checkpoint; re-raise a write error in the caller."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self.log.close()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class _Meter:
    """Progress events at most every ``progress_every_s``, and the time limit. A loss that
    becomes NaN does not stop training: the spec determines it, so it is a verifiable result
    that the worker commits and is paid for (issue 14)."""

    def __init__(self, spec: s.TaskSpec, start: int, hooks: Hooks) -> None:
        self.spec, self.hooks = spec, hooks
        self.done = start
        self.t0 = self.t_last = time.monotonic()
        self.step_last = start
        self.rate = 0.0

    def tick(self, step: int, loss: torch.Tensor) -> None:
        self.done = step
        if time.monotonic() - self.t_last >= self.hooks.progress_every_s:
            self.report(step, loss)

    def report(self, step: int, loss: torch.Tensor) -> None:
        now = time.monotonic()
        value = float(loss)  # NaN or inf goes on: divergence is a result the spec determines
        if now - self.t0 > self.spec.limits.max_seconds:
            raise TrainingError(f"training ran past limits.max_seconds ({self.spec.limits.max_seconds} s) "
                                f"at step {step}")
        if now > self.t_last and step > self.step_last:
            self.rate = (step - self.step_last) * self.spec.batch_size / (now - self.t_last)
        self.t_last, self.step_last = now, step
        if self.hooks.on_progress:
            steps_left = self.spec.steps - step
            eta = steps_left * self.spec.batch_size / self.rate if self.rate else float("inf")
            self.hooks.on_progress(Progress(step, self.spec.steps, value, self.rate, eta))
