"""A cheating worker: the real :class:`engine.worker.Worker`, but its training hook fakes one
segment of the run (``tests/e2e/cheats.py``) before the job is uploaded and committed.

Everything else (finding and claiming tasks, uploading, committing, journaling, reacting to a
dispute) is the honest worker's own code, so the verifiers meet a cheat exactly as they would
on the network: a self-consistent tree whose one segment does not replay.

    python -m tests.e2e.cheater --strategy stale --segment 0 --devnet --dev-account 9 --max-tasks 1
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from eth_account import Account

from engine.chain.devnet import DEV_KEYS
from engine.errors import IdlegridError
from engine.events import EngineEvent, Kind
from engine.worker import Job, Worker
from engine.worker.config import WorkerConfig
from tests.e2e.cheats import STRATEGIES, tamper

FAKED_MARK = "faked-by-cheater.txt"


class CheatingWorker(Worker):
    """Trains honestly, then fakes segment ``segment`` of the job with ``strategy``."""

    strategy: str = "stale"
    segment: int = 0

    def train(self, job: Job) -> Path:
        folder = super().train(job)
        mark = folder / FAKED_MARK
        if not mark.exists():  # a restart after a crash finds the fake already in place
            faked = tamper(self.strategy, job.checked, folder, self.segment)
            mark.write_text(f"{self.strategy} segment {self.segment} root {faked.merkle_root}\n", encoding="utf-8")
            self._emit(Kind.LOG, f"CHEAT: faked segment {self.segment} of task {job.task_id} ({self.strategy}), "
                                 f"root {faked.merkle_root}", job.task_id)
        return folder

    def _record_device(self, job: Job, device: str, arithmetic: str) -> None:
        if self.strategy == "bogus_manifest":  # what the result manifest declares: nobody checks it but verifiers
            device, arithmetic = "mps", "mixed"
        super()._record_device(job, device, arithmetic)


def _print(event: EngineEvent) -> None:
    if event.kind is not Kind.PROGRESS:
        task = f"task {event.task_id}: " if event.task_id is not None else ""
        print(f"{time.strftime('%H:%M:%S')} [{event.kind.value}] {task}{event.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.e2e.cheater",
                                description="A worker that fakes one segment of each job it takes (for the "
                                            "end-to-end tests; it signs with an anvil dev key, never real funds).")
    p.add_argument("--strategy", required=True, choices=sorted(STRATEGIES), help="how to fake the segment")
    p.add_argument("--segment", type=int, default=0, help="which segment to fake (default 0)")
    p.add_argument("--devnet", action="store_true", required=True, help="required: it runs only on a devnet")
    p.add_argument("--dev-account", type=int, required=True, choices=range(len(DEV_KEYS)), metavar="N",
                   help=f"sign with anvil's public test account N (0-{len(DEV_KEYS) - 1})")
    p.add_argument("--ignore-idle", action="store_true", help="train whatever the machine does")
    p.add_argument("--max-tasks", type=int, default=1, metavar="K", help="claim at most K tasks (default 1)")
    args = p.parse_args(argv)
    CheatingWorker.strategy, CheatingWorker.segment = args.strategy, args.segment
    try:
        config = WorkerConfig.from_settings(ignore_idle=args.ignore_idle, max_tasks=args.max_tasks)
        worker = CheatingWorker.from_settings(devnet=True, listener=_print, config=config,
                                              signer=Account.from_key(DEV_KEYS[args.dev_account]))
    except IdlegridError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"cheater ({args.strategy}, segment {args.segment}) as {worker.account}", flush=True)
    worker.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
