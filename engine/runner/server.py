"""The runner process: hosts the trainer and obeys the control protocol.

It is a separate process so the GUI never imports torch, a crash in training never takes the
app down, and a hard pause frees all GPU memory by simply exiting.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
from typing import Any, TextIO

from engine.errors import IdlegridError, RunnerError
from engine.runner.protocol import decode, encode


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
            msg = decode(line, "cmd")
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


def _train(msg: dict[str, Any], channel: Channel, control: Control) -> int:
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
    channel.send("started", spec_sha256=checked.sha256, out=str(msg["out"]), device=device,
                 arithmetic=arithmetic(device))
    result = trainer.run()
    if result.stopped_at_step is not None:
        channel.send("stopped", step=result.stopped_at_step)
    else:
        channel.send("done", resumed_from=result.resumed_from_step, **result.summary())
    return 0


def _preload() -> None:
    """Import what training needs before saying ``ready``: torch and scikit-learn take seconds,
    and a runner started ahead of need (engine/runner/pool.py) should spend them while idle.
    So does torch's first use of the meta device (it loads its meta kernels then: 4 s on a busy
    2-core machine), which every start pays in ``meta_dry_run``: one tiny layer runs there now."""
    import sklearn.datasets  # noqa: F401 (the digits loader)
    import torch

    import engine.training.trainer  # noqa: F401 (torch)

    with torch.device("meta"):
        torch.nn.Linear(2, 2)(torch.empty(1, 2))


def serve(inp: TextIO, out: TextIO) -> int:
    channel = Channel(out)
    control = Control(channel)
    starts: queue.Queue[dict[str, Any] | None] = queue.Queue()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: control.stop())
    threading.Thread(target=_read_commands, args=(inp, control, starts, channel), daemon=True).start()
    _preload()
    channel.send("ready", pid=os.getpid())
    msg = starts.get()
    if msg is None:
        channel.send("stopped", step=None)
        return 0
    try:
        return _train(msg, channel, control)
    except IdlegridError as e:
        channel.send("error", kind=type(e).__name__, message=e.message, hint=e.hint)
        return e.exit_code
    except KeyError as e:
        channel.send("error", kind="RunnerError", message=f"start command lacks {e}", hint=None)
        return 2
