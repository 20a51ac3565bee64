"""Protocol overhead: what claiming, uploading and committing add to a task's training time.

On a private devnet (anvil on a free port, TaskMarket deployed, a blob server, all in a temp
``IDLEGRID_HOME``) a requester posts the digits task and the real worker
(``engine.worker.Worker``, CPU, idle policy off) claims, trains it in its runner subprocess,
uploads the checkpoints and the result manifest, and commits the Merkle root. Two timings
per round:

* **claim_to_commit** -- from the block that holds the worker's ``claimTask`` to the block
  that holds its ``submitResult``, seen by a watcher polling the task's status every 10 ms:
  everything the worker does for the task (spec download and checks, runner start, training,
  checkpoint uploads, manifest, the commit transaction).
* **train** -- the same spec trained by ``engine.training.trainer.Trainer`` in this process
  into a temp folder: the pure training time, checkpoints and hashing included, as
  ``bench.overhead`` measures the engine side.

Each round posts the spec with a fresh seed (the pure run uses the same seed). Rounds
alternate (train, protocol) after one untimed warm-up of each; the figures are medians. Each
pure run waits until the worker's background work (its next spare runner starting) is done.

Before the headline it prints where the time goes (``bench._phases``): one ``phase_<name>_s``
line per phase of a task (median over rounds; ``discover`` happens before the claim, every
other phase inside claim_to_commit), then the worker's blob uploads and JSON-RPC calls per task.
Tasks are posted with a 2 s challenge window, and each round waits until the worker has
settled its task (``finalizeTask``, paid): ``phase_settlement_s`` is the time from the window's
end to the payment booked, outside claim_to_commit.

``around_training_s`` is claim_to_commit minus the runner's own training time (checkpoint 0 to
the last): what the protocol adds, whatever the in-process run's speed on a busy machine.

Headline (last line): ``protocol_overhead_ratio`` = median claim_to_commit / median train.
Goal <= 1.10.

    python -m bench.protocol [--spec PATH] [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._phases import (
    PHASES,
    TimedStore,
    Timeline,
    breakdown,
    settle_children,
    time_rpc,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO / "resources" / "tasks" / "digits-mlp.json"
SETTINGS = """\
[gpu]
backend = "cpu"
allow_cpu = true

[policy]
run_when = "always"
"""
WATCH_INTERVAL_S = 0.01
WINDOW_S = 2  # the challenge window: short, so each round is also settled (finalizeTask) before the next
TASK_TIMEOUT_S = 600.0


@dataclass
class Watch:
    """When the watcher first saw the task claimed and submitted (monotonic seconds)."""

    claimed: float | None = None
    submitted: float | None = None


def spec_variant(raw: dict[str, Any], seed: int, folder: Path, quick: bool) -> Path:
    spec = dict(raw, seed=seed)
    if quick:
        spec["steps"] = min(spec["steps"], 100)
        spec["checkpoint_every"] = min(spec["checkpoint_every"], 25)
        if "warmup_steps" in spec.get("schedule", {}):
            spec["schedule"] = dict(spec["schedule"], warmup_steps=min(spec["schedule"]["warmup_steps"], 20))
    path = folder / f"spec-{seed}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def train_in_process(spec_path: Path) -> tuple[float, float]:
    """Pure training: the Trainer on this spec into a temp folder, timed; and its set-up (start ->
    checkpoint 0 written), which the runner pays as well."""
    from engine.tasks.load import load_spec
    from engine.training.trainer import Trainer

    checked = load_spec(spec_path)
    out = Path(tempfile.mkdtemp(prefix="idlegrid-bench-"))
    try:
        t0, wall = time.perf_counter(), time.time()
        Trainer(checked, out / "job").run()
        elapsed = time.perf_counter() - t0
        return elapsed, (out / "job" / "ckpt-00000.safetensors").stat().st_mtime - wall
    finally:
        shutil.rmtree(out, ignore_errors=True)


class Devnet:
    """anvil + TaskMarket + blob server + a requester and a running worker, all private."""

    def __init__(self, home: Path) -> None:
        from eth_account import Account

        from engine.chain.anvil import Anvil, AnvilConfig, free_port
        from engine.chain.devnet import DEV_KEYS, deploy_market
        from engine.chain.market import TaskMarket
        from engine.chain.rpc import connect
        from engine.history import History
        from engine.requester import Requester
        from engine.storage import BlobServer, HttpStore

        self.timeline = Timeline()
        self.anvil = Anvil(AnvilConfig(port=free_port(), log_file=home / "anvil.log")).start()
        w3 = connect(self.anvil.url)
        address = deploy_market(w3, Account.from_key(DEV_KEYS[0]), rpc_url=self.anvil.url).market_address
        self.server = BlobServer(home / "served-blobs").start()
        self.history = History.open(home / "history.sqlite3")
        self.reader = TaskMarket(w3, address)
        self.requester = Requester(TaskMarket(w3, address, Account.from_key(DEV_KEYS[1])),
                                   HttpStore(self.server.url), self.history)
        worker_w3 = connect(self.anvil.url)  # its own connection, so only the worker's RPC calls are timed
        time_rpc(worker_w3, self.timeline)
        self.worker_market = TaskMarket(worker_w3, address, Account.from_key(DEV_KEYS[2]))
        self.home = home
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_worker(self) -> None:
        from engine.storage import HttpStore
        from engine.worker import Worker
        from engine.worker.config import WorkerConfig

        config = WorkerConfig(ignore_idle=True, device="cpu", jobs_dir=self.home / "jobs",
                              blob_cache_dir=self.home / "worker-blobs")
        store = TimedStore(HttpStore(self.server.url), self.timeline)
        worker = Worker(self.worker_market, store, self.history, config=config,  # type: ignore[arg-type]
                        listener=self.timeline.listener)
        self._thread = threading.Thread(target=worker.run, args=(self._stop,), name="bench-worker", daemon=True)
        self._thread.start()

    def protocol_round(self, spec_path: Path, inproc_setup: float) -> tuple[float, dict[str, float], dict[str, float]]:
        """Post ``spec_path``; the worker's claim -> commit time, as seen on chain, and its breakdown."""
        task_id = self.requester.post(spec_path, reward=10**16, window=WINDOW_S)
        posted = time.time()
        watch = Watch()
        seen_submitted = 0.0
        deadline = time.monotonic() + TASK_TIMEOUT_S
        while watch.submitted is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker did not commit task {task_id} within {TASK_TIMEOUT_S:.0f} s")
            status = self.reader.get_task(task_id).status.name
            now = time.monotonic()
            if status != "OPEN" and watch.claimed is None:
                watch.claimed = now
            if status not in ("OPEN", "CLAIMED"):
                watch.submitted = now
                seen_submitted = time.time()
            time.sleep(WATCH_INTERVAL_S)
        (job_dir,) = (self.home / "jobs").glob(f"*-{task_id}")
        phases, counts = breakdown(self.timeline, task_id, posted=posted, seen_submitted=seen_submitted,
                                   job_dir=job_dir, inproc_setup=inproc_setup)
        paid = self._settled(task_id)
        phases["settlement"] = paid - self.timeline.event_at(task_id, "committed") - WINDOW_S
        return watch.submitted - watch.claimed, phases, counts

    def _settled(self, task_id: int) -> float:
        """When the worker booked the task paid. A block is mined every 0.2 s meanwhile, as the devnet's
        other actors do: on a chain with no new block the window never ends for ``estimateGas``."""
        deadline = time.monotonic() + WINDOW_S + 60
        while time.monotonic() < deadline:
            try:
                return self.timeline.event_at(task_id, "paid", wait_s=0.2)
            except SystemExit:
                self.reader.w3.provider.make_request("evm_mine", [])
        return self.timeline.event_at(task_id, "paid", wait_s=0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.server.stop()
        self.history.close()
        self.anvil.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.protocol", description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="task spec (default: digits-mlp)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="short run for smoke tests (100 steps, 1 round)")
    args = ap.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    raw = json.loads(args.spec.read_text(encoding="utf-8"))

    home = Path(tempfile.mkdtemp(prefix="idlegrid-bench-protocol-"))
    os.environ["IDLEGRID_HOME"] = str(home)  # settings, jobs and caches stay in the temp folder
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    devnet = Devnet(home)
    try:
        devnet.start_worker()
        seeds = iter(range(raw.get("seed", 0) + 1, raw.get("seed", 0) + 1000))
        warm = spec_variant(raw, next(seeds), home, args.quick)
        train_in_process(warm)  # warm-up: imports, allocator, dataset caches
        devnet.protocol_round(warm, train_in_process(warm)[1])
        trains, protocols, phases, counts = [], [], [], []
        for _ in range(rounds):
            spec_path = spec_variant(raw, next(seeds), home, args.quick)
            settle_children()  # the worker's next spare runner imports torch after each task: not during this timing
            train_s, setup_s = train_in_process(spec_path)
            trains.append(train_s)
            protocol_s, phase, count = devnet.protocol_round(spec_path, setup_s)
            protocols.append(protocol_s)
            phases.append(phase)
            counts.append(count)
    finally:
        devnet.close()
        shutil.rmtree(home, ignore_errors=True)

    t, p = statistics.median(trains), statistics.median(protocols)
    steps = min(raw["steps"], 100) if args.quick else raw["steps"]
    print(f"spec: {raw['name']}")
    print(f"steps: {steps}")
    print(f"rounds: {rounds}")
    print(f"train_s: {t:.4f}")
    print(f"claim_to_commit_s: {p:.4f}")
    print(f"protocol_s: {p - t:.4f}")
    print(f"round_ratios: {' '.join(f'{y / x:.3f}' for x, y in zip(trains, protocols))}")
    for name in [name for name, _ in PHASES] + ["settlement"]:
        print(f"phase_{name}_s: {statistics.median(p[name] for p in phases):.4f}")
    runner_train = statistics.median(p["training"] for p in phases)
    print(f"around_training_s: {p - runner_train:.4f}")  # claim_to_commit minus the runner's own training
    for name in counts[0]:
        value = statistics.median(c[name] for c in counts)
        print(f"{name}: {value:.4f}" if name.endswith("_s") else f"{name}: {value:.0f}")
    print(f"protocol_overhead_ratio: {p / t:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
