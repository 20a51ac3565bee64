"""A cheating worker: the real :class:`engine.worker.Worker`, but its training hook fakes one
segment of the run (``tests/e2e/cheats.py``) before the job is uploaded and committed.

Everything else (finding and claiming tasks, uploading, committing, journaling, reacting to a
dispute) is the honest worker's own code, so the verifiers meet a cheat exactly as they would
on the network: a self-consistent tree whose one segment does not replay. Its command line is
``idlegrid worker``'s own plus the cheat, so it runs on the devnet with a dev account or from a
network profile with a keystore wallet (``tests/e2e/test_real_chain_cheater.py``), but only on
a local anvil.

    python -m tests.e2e.cheater --strategy stale --segment 0 --devnet --dev-account 9 --max-tasks 1

``--strategy withhold`` trains honestly but never uploads checkpoint ``segment + 1`` (the end of
the segment: its manifest names a blob nobody can fetch) and never answers a data demand
(TaskMarket v2): the data-availability attack of issue 15.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.chain.anvil import DEV_CHAIN_ID
from engine.commands import worker as worker_command
from engine.commands.options import account_options
from engine.errors import IdlegridError, UsageError
from engine.events import Kind
from engine.history.records import JobRecord
from engine.storage.address import sha256_file
from engine.storage.store import BlobStore
from engine.worker import Job, Worker
from tests.e2e.cheats import STRATEGIES, tamper

FAKED_MARK = "faked-by-cheater.txt"
WITHHOLD = "withhold"


class WithholdingStore:
    """The worker's blob store, except that one checkpoint file is never uploaded: its address
    is computed and returned as if it had been."""

    def __init__(self, store: BlobStore, withheld: str) -> None:
        self.store, self.withheld = store, withheld

    def put_file(self, path: Path) -> str:
        if path.name == self.withheld:
            return sha256_file(path)[0]
        return self.store.put_file(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class CheatingWorker(Worker):
    """Trains honestly, then fakes segment ``segment`` of the job with ``strategy``."""

    strategy: str = "stale"
    segment: int = 0

    def train(self, job: Job) -> Path:
        folder = super().train(job)
        if self.strategy == WITHHOLD:
            return folder  # honest bits; the cheat is in what is uploaded and answered
        mark = folder / FAKED_MARK
        if not mark.exists():  # a restart after a crash finds the fake already in place
            faked = tamper(self.strategy, job.checked, folder, self.segment)
            mark.write_text(f"{self.strategy} segment {self.segment} root {faked.merkle_root}\n", encoding="utf-8")
            self._emit(Kind.LOG, f"CHEAT: faked segment {self.segment} of task {job.task_id} ({self.strategy}), "
                                 f"root {faked.merkle_root}", job.task_id)
        return folder

    @classmethod
    def from_settings(cls, **kwargs: Any) -> Worker:
        """The worker ``idlegrid worker`` would build, on the devnet or a network profile, but
        only on a local anvil: a cheat is never sent to a chain where it costs real funds."""
        worker = super().from_settings(**kwargs)
        if cls.strategy == WITHHOLD:
            worker.store = WithholdingStore(worker.store, f"ckpt-{cls.segment + 1:05d}.safetensors")  # type: ignore[assignment]
        if worker.chain_id != DEV_CHAIN_ID:
            raise UsageError(f"the cheater runs only on a local anvil (chain {DEV_CHAIN_ID}), "
                             f"not on chain {worker.chain_id}", hint="use --devnet or a profile of a local anvil")
        return worker

    def _answer_demands(self, record: JobRecord) -> bool:
        if self.strategy == WITHHOLD:
            return False  # the withheld checkpoint is never produced, on chain or off
        return super()._answer_demands(record)

    def _record_device(self, job: Job, device: str, arithmetic: str) -> None:
        if self.strategy == "bogus_manifest":  # what the result manifest declares: nobody checks it but verifiers
            device, arithmetic = "mps", "mixed"
        super()._record_device(job, device, arithmetic)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.e2e.cheater", parents=[account_options()],
                                description="A worker that fakes one segment of each job it takes (for the "
                                            "end-to-end tests; only on a local anvil, never with real funds).")
    p.add_argument("--strategy", required=True, choices=sorted([*STRATEGIES, WITHHOLD]),
                   help="how to fake the segment (withhold: never upload its last checkpoint, never answer for it)")
    p.add_argument("--segment", type=int, default=0, help="which segment to fake (default 0)")
    worker_command.add_arguments(p)
    args = p.parse_args(argv)
    CheatingWorker.strategy, CheatingWorker.segment = args.strategy, args.segment
    try:
        return worker_command.run(args, worker_class=CheatingWorker)
    except IdlegridError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
