"""Architecture search over the market: regret, parallel speed-up, coordinator cost.

On a private devnet (anvil on a free port, TaskMarket deployed, a blob server, worker
subprocesses ``idlegrid worker --devnet --ignore-idle`` each with its own IDLEGRID_HOME), the
coordinator runs in this process (``engine.search.Coordinator`` over the requester's API):

* **search_speedup** -- candidates per hour with 2 workers over the same with 1 worker: the
  same ``--speedup-budget`` candidates (random sampler, same seed, so the same candidates)
  with 4 in flight (so no worker waits for the coordinator), first with one worker, then two,
  each timing begun once the workers' start-up is over (their CPU use settled);
* **search_regret** -- the digits space, budget ``--budget`` (40), regularized evolution with 2
  workers: the true best accuracy (resources/search/digits.truth.json, every candidate trained
  locally by tools/enumerate_space.py) minus the best found, in percentage points;
* **search_worker_loop_cpu_ms** / **search_runner_cpu_ms** -- in the one-worker timing, the
  worker process's own CPU per candidate (its loop: chain reads and writes, uploads, SQLite) and
  its runners' (training; a runner that served its 20 jobs and exited is counted too);
* **search_coordinator_cpu_ms** -- the coordinator thread's CPU time per candidate in that
  search (posting, uploads, event scans, result downloads and checks, SQLite, Optuna);
* **search_sim_*** -- the coordinator alone against the simulated market with ``--sim`` (10,000)
  candidates in flight at once: CPU per candidate and memory growth.

Goals: regret <= 0.5, speedup >= 1.5, coordinator CPU <= 50 ms. The figures depend on the
machine's load (training shares the cores with everything else running).

    python -m bench.search [--budget 40] [--speedup-budget 24] [--sim 10000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "resources" / "search" / "digits.json"
TRUTH = REPO / "resources" / "search" / "digits.truth.json"
REQUESTER, WORKERS = 1, (2, 3)


def simulated(n: int, folder: Path) -> dict[str, float]:
    from engine.search.coordinator import Coordinator, Progress, SearchConfig
    from engine.search.port import Terms
    from engine.search.scale import wide_space
    from engine.search.simulated import SimulatedMarket
    from engine.search.state import SearchState

    space = wide_space()
    peak = [0]

    def seen(p: Progress) -> None:
        peak[0] = max(peak[0], p.in_flight)

    config = SearchConfig(budget=n, parallel=n, population=100, sample=25, poll_s=0)
    c = Coordinator(space, SearchState(folder / "sim.sqlite3"), SimulatedMarket(workers=n, train_s=5), config,
                    Terms(reward=1, claim_timeout=10**6, train_timeout=10**6), on_progress=seen)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = time.thread_time()
    c.run()
    cpu = time.thread_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"in_flight": peak[0], "cpu_ms": cpu / n * 1000, "memory_mb": (rss - rss0) / 1024,
            "memory_kb_per_candidate": (rss - rss0) / n}


class Network:
    """anvil, the market, a blob server, and worker subprocesses started on demand."""

    def __init__(self, root: Path) -> None:
        from eth_account import Account

        from engine.chain.anvil import Anvil, AnvilConfig, free_port
        from engine.chain.devnet import DEV_KEYS, deploy_market
        from engine.chain.rpc import connect
        from engine.storage import BlobServer

        self.root = root
        self.anvil = Anvil(AnvilConfig(port=free_port(), log_file=root / "anvil.log")).start()
        self.w3 = connect(self.anvil.url)
        self.server = BlobServer(root / "served-blobs").start()
        deployed = deploy_market(self.w3, Account.from_key(DEV_KEYS[0]), rpc_url=self.anvil.url)
        from dataclasses import replace

        self.deployment = replace(deployed, blob_url=self.server.url)
        self.workers: list[subprocess.Popen[bytes]] = []

    def home(self, name: str) -> Path:
        import tomli_w

        home = self.root / name
        d = self.deployment
        settings = {
            "network": {
                "rpc_url": d.rpc_url,
                "market_address": d.market_address,
                "blob_url": d.blob_url,
                "chain_id": d.chain_id,
                "confirmations": 0,
            },
            "gpu": {"backend": "cpu", "allow_cpu": True},
            "policy": {"run_when": "always", "pause_on_battery": False},
        }
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "settings.toml").write_text(tomli_w.dumps(settings), encoding="utf-8")
        d.save(home / "data" / "devnet" / "deployment.json")
        return home

    def start_worker(self, account: int) -> None:
        home = self.home(f"worker{account}")
        env = dict(os.environ, IDLEGRID_HOME=str(home), PYTHONUNBUFFERED="1")
        log = (self.root / f"worker{account}.log").open("ab")
        self.workers.append(subprocess.Popen(
            [sys.executable, "-m", "engine", "worker", "--devnet", "--dev-account", str(account), "--ignore-idle"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def close(self) -> None:
        for proc in self.workers:
            proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.server.stop()
        self.anvil.stop()


def worker_cpu(proc: subprocess.Popen[bytes]) -> tuple[float, float]:
    """CPU seconds of a worker process itself and of its runners (live, and exited ones reaped)."""
    import psutil

    me = psutil.Process(proc.pid)
    own = me.cpu_times()
    runners = own.children_user + own.children_system
    for child in me.children(recursive=True):
        try:
            t = child.cpu_times()
            runners += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return own.user + own.system, runners


def search(net: Network, name: str, *, budget: int, sampler: str, parallel: int, seed: int = 0) -> dict[str, Any]:
    """One search by the requester, in this process; its wall time, coordinator CPU and best."""
    from eth_account import Account

    from engine.chain.devnet import DEV_KEYS
    from engine.chain.market import TaskMarket
    from engine.history import History
    from engine.requester import Requester
    from engine.search.chainport import ChainMarket
    from engine.search.coordinator import Coordinator, SearchConfig
    from engine.search.load import load_space
    from engine.search.port import Terms
    from engine.search.sampler import SamplerKind
    from engine.search.state import SearchState
    from engine.storage import HttpStore, LocalStore

    folder = net.root / name
    history = History.open(folder / "history.sqlite3")
    market = TaskMarket(net.w3, net.deployment.market_address, Account.from_key(DEV_KEYS[REQUESTER]))
    requester = Requester(market, HttpStore(net.server.url), history, local=LocalStore(folder / "blobs"))
    space = load_space(SPACE)
    config = SearchConfig(budget=budget, parallel=parallel, population=10, sample=3, sampler=SamplerKind(sampler),
                          seed=seed)
    state = SearchState(folder / "search.sqlite3")
    c = Coordinator(space, state, ChainMarket(requester, folder), config, Terms(reward=10**16, window=600))
    wall0, cpu0 = time.monotonic(), time.thread_time()
    c.run()
    wall, cpu = time.monotonic() - wall0, time.thread_time() - cpu0
    progress = c.progress()
    state.close()
    history.close()
    return {"wall_s": wall, "cpu_s": cpu, "best": progress.best, "done": progress.done}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="architecture search over the market")
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--speedup-budget", type=int, default=24)
    ap.add_argument("--sim", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="budget 6, speed-up over 4, 1,000 simulated")
    args = ap.parse_args(argv)
    if args.quick:
        args.budget, args.speedup_budget, args.sim = 6, 4, 1000
    import logging

    from bench._phases import settle_children

    logging.getLogger("optuna").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="idlegrid-bench-search-"))
    os.environ["IDLEGRID_HOME"] = str(root / "home")
    sim = simulated(args.sim, root)
    print(f"search_sim_in_flight: {sim['in_flight']}")
    print(f"search_sim_cpu_ms_per_candidate: {sim['cpu_ms']:.2f}")
    print(f"search_sim_memory_mb: {sim['memory_mb']:.1f}")
    print(f"search_sim_memory_kb_per_candidate: {sim['memory_kb_per_candidate']:.1f}", flush=True)
    net = Network(root)
    try:
        # each worker's start-up (its imports, its spare runner's torch) is over before a timing
        # starts: the figure is throughput, and 24 candidates take well under a minute
        net.start_worker(WORKERS[0])
        settle_children()
        loop0, runners0 = worker_cpu(net.workers[0])
        one = search(net, "speed-1", budget=args.speedup_budget, sampler="random", parallel=4)
        loop1, runners1 = worker_cpu(net.workers[0])
        done1 = max(one["done"], 1)
        print(f"search_worker_loop_cpu_ms: {(loop1 - loop0) / done1 * 1000:.1f}")
        print(f"search_runner_cpu_ms: {(runners1 - runners0) / done1 * 1000:.1f}", flush=True)
        net.start_worker(WORKERS[1])
        settle_children()
        two = search(net, "speed-2", budget=args.speedup_budget, sampler="random", parallel=4)
        rate1, rate2 = one["done"] / one["wall_s"] * 3600, two["done"] / two["wall_s"] * 3600
        print(f"search_candidates_per_hour_1_worker: {rate1:.0f}")
        print(f"search_candidates_per_hour_2_workers: {rate2:.0f}", flush=True)
        found = search(net, "regret", budget=args.budget, sampler="evolution", parallel=2)
    finally:
        net.close()
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    from engine.training.determinism import arithmetic

    if truth["arithmetic"] != arithmetic("cpu"):
        print(f"# note: the truth file was computed with {truth['arithmetic']}, this machine is {arithmetic('cpu')}",
              file=sys.stderr)
    print(f"search_best_found: {found['best']:.6f}")
    print(f"search_true_best: {truth['best']['value']:.6f}")
    print(f"search_wall_s: {found['wall_s']:.0f}")
    print(f"search_coordinator_cpu_ms: {found['cpu_s'] / max(found['done'], 1) * 1000:.1f}")
    print(f"search_speedup: {rate2 / rate1:.2f}")
    print(f"search_regret: {(truth['best']['value'] - found['best']) * 100:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
