"""The runner process: hosts the trainer and obeys the control protocol.

It is a separate process so the GUI never imports torch, a crash in training never takes the
app down, and a hard pause frees all GPU memory by simply exiting.

Started with ``max_jobs`` > 1 it serves job after job: its imports (torch: about a CPU-second,
as much as training a digits candidate) are paid once, not per task. Between jobs it restores
the process state it had at ``ready`` (``engine.runner.reset``) and says ``free``. It exits
instead, as a single-use runner does, when reuse could carry something over: the job stopped,
failed once training had started, or crashed (not caught: the process dies); the job used CUDA
(only exiting frees its GPU memory); ``max_jobs`` are served; or its resident memory grew by
more than ``max_growth_mib`` since ``ready`` (a leak, or an allocator that keeps a big job's
memory, cannot accumulate).
"""

from __future__ import annotations

import gc
import os
import queue
import signal
import threading
from dataclasses import dataclass
from typing import Any, TextIO

import psutil

from engine.errors import IdlegridError, RunnerError
from engine.runner.protocol import decode_command, encode

# A reused runner leaves after this much growth of its resident memory over what it had at
# ``ready`` (about 600 MiB with torch loaded): digits and tiny-charlm jobs grow it by tens of MiB.
MAX_GROWTH_MIB = 512


class Channel:
    """Thread-safe event writer."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.lock = out, threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        with self.lock:
            self.out.write(encode({"event": event, **fields}))
            self.out.flush()


class Control:
    """Pause/stop flags, checked by the trainer at every step boundary."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.cond = threading.Condition()
        self.paused = False
        self.stopping = False

    def pause(self) -> None:
        with self.cond:
            self.paused = True

    def resume(self) -> None:
        with self.cond:
            self.paused = False
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def next_job(self) -> None:
        """Forget a pause meant for the job that ended (the engine pauses a job, never a runner)."""
        with self.cond:
            self.paused = False

    def __call__(self, step: int) -> None:
        from engine.training.trainer import StopRequested

        if not (self.paused or self.stopping):  # the per-step fast path: two reads
            return
        with self.cond:
            if self.paused and not self.stopping:
                self.channel.send("paused", step=step)
                self.cond.wait_for(lambda: not self.paused or self.stopping)
                if not self.stopping:
                    self.channel.send("resumed", step=step)
            if self.stopping:
                raise StopRequested()


def _read_commands(inp: TextIO, control: Control, starts: queue.Queue[dict[str, Any] | None], channel: Channel) -> None:
    for line in inp:
        if not line.strip():
            continue
        try:
            msg = decode_command(line)
        except RunnerError as e:
            channel.send("error", kind="RunnerError", message=e.message, hint=None)
            continue
        cmd = msg["cmd"]
        if cmd == "start":
            starts.put(msg)
        elif cmd == "pause":
            control.pause()
        elif cmd == "resume":
            control.resume()
        else:
            control.stop()
            starts.put(None)
    control.stop()  # the engine went away: save and exit rather than train unsupervised
    starts.put(None)


@dataclass
class Outcome:
    """How a job ended: the exit code a single-use runner returns, and whether the process may
    take another job (``done``, or refused before training started)."""

    code: int
    clean: bool
    started: bool = False


def _train(msg: dict[str, Any], channel: Channel, control: Control, outcome: Outcome) -> None:
    from engine.tasks.load import load_spec
    from engine.training.datasets import LocalBlobs
    from engine.training.determinism import arithmetic, pick_device
    from engine.training.model import meta_dry_run
    from engine.training.trainer import Hooks, Trainer

    checked = load_spec(msg["spec"])
    meta_dry_run(checked)
    device = pick_device(msg.get("device") or "auto")
    hooks = Hooks(
        on_progress=lambda p: channel.send("progress", step=p.step, steps=p.steps, loss=p.loss,
                                           samples_per_s=round(p.samples_per_s, 1), eta_s=round(p.eta_s, 2)),
        on_checkpoint=lambda c: channel.send("checkpoint", index=c.index, step=c.step, leaf=c.leaf, path=str(c.path)),
        control=control,
        progress_every_s=float(msg.get("progress_every_s", 0.5)),
    )
    blobs = LocalBlobs(msg["blobs"]) if msg.get("blobs") else None
    trainer = Trainer(checked, msg["out"], device=device, hooks=hooks, blobs=blobs)
    outcome.started = True
    channel.send("started", spec_sha256=checked.sha256, out=str(msg["out"]), device=device,
                 arithmetic=arithmetic(device))
    result = trainer.run()
    if result.stopped_at_step is not None:
        channel.send("stopped", step=result.stopped_at_step)
    else:
        channel.send("done", resumed_from=result.resumed_from_step, **result.summary())
        outcome.clean = True


def _job(msg: dict[str, Any], channel: Channel, control: Control) -> Outcome:
    """Run one start command; an error the job raises on purpose becomes an ``error`` event."""
    outcome = Outcome(code=0, clean=False)
    try:
        _train(msg, channel, control, outcome)
    except IdlegridError as e:
        channel.send("error", kind=type(e).__name__, message=e.message, hint=e.hint)
        outcome.code, outcome.clean = e.exit_code, not outcome.started
    return outcome


def _preload() -> None:
    """Import what training needs before saying ``ready``: torch takes seconds,
    and a runner started ahead of need (engine/runner/pool.py) should spend them while idle.
    So does torch's first use of the meta device (it loads its meta kernels then: 4 s on a busy
    2-core machine), which every start pays in ``meta_dry_run``: one tiny layer runs there now."""
    import torch

    import engine.training.trainer  # noqa: F401 (torch)

    with torch.device("meta"):
        torch.nn.Linear(2, 2)(torch.empty(1, 2))


def serve(inp: TextIO, out: TextIO, *, max_jobs: int = 1, max_growth_mib: float = MAX_GROWTH_MIB) -> int:
    """Serve up to ``max_jobs`` start commands, one at a time; return the exit code."""
    from engine.runner.reset import ProcessState, cuda_used

    channel = Channel(out)
    control = Control(channel)
    starts: queue.Queue[dict[str, Any] | None] = queue.Queue()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: control.stop())
    threading.Thread(target=_read_commands, args=(inp, control, starts, channel), daemon=True).start()
    _preload()
    gc.freeze()  # the imports' objects never die: collections between (and during) jobs skip them
    fresh = ProcessState.capture()
    me = psutil.Process()
    rss_at_ready = me.memory_info().rss
    channel.send("ready", pid=os.getpid())
    served = 0
    while True:
        msg = starts.get()
        if msg is None:
            channel.send("stopped", step=None)
            return 0
        outcome = _job(msg, channel, control)
        served += 1
        if not outcome.clean or served >= max_jobs or control.stopping or cuda_used():
            return outcome.code
        fresh.restore()  # collects the job's garbage too: what stays is what a next job inherits
        if (me.memory_info().rss - rss_at_ready) / 2**20 > max_growth_mib:
            return outcome.code
        control.next_job()
        channel.send("free", jobs=served)
