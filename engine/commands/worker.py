"""``idlegrid worker``: the headless worker, with a live status line on stderr.

Ctrl-C (or SIGTERM) stops it cleanly: training in progress is checkpointed, the journal is
left consistent, and it exits 0. ``add_arguments`` and ``run`` are reusable, so a worker
subclass (the end-to-end tests' cheaters) gets the very same command line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from engine.commands.options import account_options
from engine.commands.progress import format_eta
from engine.errors import UsageError
from engine.events import EngineEvent, EngineState, Kind
from engine.units import format_eth
from engine.worker.config import WorkerConfig


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "worker", parents=[account_options()],
        help="lend this machine to the market: claim, train and commit tasks",
        description="Find tasks on the market, train them while the machine is idle, commit the results "
        "and collect the rewards. Runs until Ctrl-C (training is checkpointed first).",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true",
                   help="do what is due now (one pass), then exit instead of waiting for more")
    p.add_argument("--max-tasks", type=int, metavar="N",
                   help="claim at most N tasks, and exit once they are all settled")
    p.add_argument("--ignore-idle", action="store_true",
                   help="train even while the machine is in use (ignores the idle policy)")
    p.add_argument("--auto-withdraw", action="store_true",
                   help="withdraw credits to the wallet as soon as a task is paid")


def run(args: argparse.Namespace, *, worker_class: Any = None) -> int:
    """Build the worker from the settings and the flags, run it, print a summary."""
    from engine.worker import Worker

    if args.max_tasks is not None and args.max_tasks < 1:
        raise UsageError(f"--max-tasks {args.max_tasks} must be at least 1")
    signer = _dev_signer(args)
    passphrase = _passphrase(args.passphrase_file) if args.passphrase_file else None
    overrides: dict[str, Any] = {"ignore_idle": args.ignore_idle, "max_tasks": args.max_tasks}
    if args.auto_withdraw:
        overrides["auto_withdraw"] = True
    config = WorkerConfig.from_settings(**overrides)
    line = StatusLine(sys.stderr)
    worker = (worker_class or Worker).from_settings(devnet=args.devnet, listener=line.on_event, signer=signer,
                                                    passphrase=passphrase, config=config)
    line.say(f"worker {worker.account} on chain {worker.chain_id}, market {worker.market.address}")
    stop = threading.Event()

    def interrupted(*_: object) -> None:
        stop.set()
        worker.request_stop()

    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    started = time.time()
    try:
        if args.once:
            while not stop.is_set() and worker.step():
                pass
        else:
            worker.run(stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        line.close()
    _summary(worker, started)
    return 0


def _dev_signer(args: argparse.Namespace) -> Any:
    if args.dev_account is None:
        return None
    from engine.chain.devkeys import dev_signer

    return dev_signer(args.dev_account, devnet=args.devnet)


def _passphrase(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as e:
        raise UsageError(f"cannot read --passphrase-file {path}: {e.strerror or e}") from None


def _summary(worker: Any, started: float) -> None:
    from engine.worker import ROLE

    jobs = [j for j in worker.history.jobs(role=ROLE, limit=10_000)
            if j.chain_id == worker.chain_id and j.market == worker.market.address and j.updated_at >= started]
    by_state: dict[str, int] = {}
    for j in jobs:
        by_state[j.state] = by_state.get(j.state, 0) + 1
    e = worker.history.earnings(worker.chain_id, worker.market.address, worker.market.credits(worker.account))
    states = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"
    print(f"worker: jobs this run: {states}", file=sys.stderr)
    print(f"worker: pending {format_eth(e.pending)} ETH, claimable {format_eth(e.claimable)} ETH, "
          f"withdrawn {format_eth(e.withdrawn)} ETH, gas paid {format_eth(e.gas_paid)} ETH", file=sys.stderr)



class StatusLine:
    """The live one-line display: state, task, step/steps, loss, ETA, or why it waits.

    On a terminal the line is rewritten in place; otherwise (logs, tests) each change is one
    line. Notices, errors and log events are printed above it as lines of their own."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.lock = threading.Lock()
        self.state, self.reason = EngineState.STARTING.value, "starting"
        self.progress: dict[str, Any] = {}
        self.task: int | None = None
        self.last = ""

    def on_event(self, event: EngineEvent) -> None:
        if event.kind is Kind.STATE:
            self.state, self.reason = str(event.data.get("state")), str(event.data.get("reason"))
            if self.state != EngineState.WORKING.value:
                self.progress = {}
            self.task = event.task_id
            self._draw()
        elif event.kind is Kind.PROGRESS:
            self.progress, self.task = dict(event.data), event.task_id
            self._draw()
        elif event.kind in (Kind.NOTICE, Kind.ERROR, Kind.LOG, Kind.JOB):
            hint = event.data.get("hint") if event.kind is Kind.ERROR else None
            self.say(event.message + (f" (hint: {hint})" if hint else ""))

    def render(self) -> str:
        parts = [self.state]
        if self.task is not None:
            parts.append(f"task {self.task}")
        p = self.progress
        if p.get("step") is not None and p.get("steps"):
            parts.append(f"step {p['step']}/{p['steps']}")
            if p.get("loss") is not None:
                parts.append(f"loss {float(p['loss']):.4f}")
            if p.get("eta_s") is not None:
                parts.append(f"ETA {format_eta(float(p['eta_s']))}")
        if self.state != EngineState.WORKING.value or not p:
            parts.append(self.reason)
        return " | ".join(parts)

    def say(self, text: str) -> None:
        with self.lock:
            if self.tty:
                self.stream.write("\r\x1b[K" + text + "\n" + self.last)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _draw(self) -> None:
        line = self.render()
        with self.lock:
            if line == self.last:
                return
            self.last = line
            self.stream.write(("\r" + line + "\x1b[K") if self.tty else (line + "\n"))
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()
