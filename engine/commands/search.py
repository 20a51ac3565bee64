"""``idlegrid search SPACE --budget N``: evolutionary architecture search across the market.

Each candidate of the space becomes an ordinary task with its own reward; the coordinator keeps
``--parallel`` of them posted, reads verified results back as fitness, and resumes from its
folder after any crash (run the same command again).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from engine.errors import UsageError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "search", help="search a space of specs across the market (regularized evolution)",
        description="Run an architecture search: each candidate of SPACE is posted as a task with its own "
        "reward; verified results are its fitness. The search lives in --out (SQLite): run the same command "
        "again to resume it after a crash, or to print the results of a finished one (on TaskMarket v2 it "
        "also closes the audits that can close by then: the verification fee no auditor earned comes back).")
    p.add_argument("space", type=Path, metavar="SPACE", help="the search-space file (see docs/search.md)")
    p.add_argument("--budget", type=int, required=True, metavar="N", help="candidates to evaluate on the market")
    p.add_argument("--population", type=int, default=10, metavar="P", help="evolution: candidates kept (default 10)")
    p.add_argument(
        "--sample", type=int, default=3, metavar="S", help="evolution: candidates drawn to pick a parent (default 3)"
    )
    p.add_argument("--parallel", type=int, default=2, metavar="K", help="candidates posted at once (default 2)")
    p.add_argument("--sampler", choices=("evolution", "tpe", "nsga2", "random"), default="evolution",
                   help="the Optuna sampler (default: evolution, regularized aging evolution)")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0)")
    p.add_argument("--reward", default="0.01", metavar="ETH", help="reward per candidate task (default 0.01)")
    p.add_argument("--stake", metavar="ETH", help="worker stake per task (default: a tenth of the reward)")
    p.add_argument("--window", type=int, default=600, metavar="SECONDS", help="challenge window (default 600 s)")
    p.add_argument("--claim-timeout", type=int, default=3600, metavar="SECONDS",
                   help="a task nobody claims in this time is cancelled and reposted (default 3600 s)")
    p.add_argument("--train-timeout", type=int, metavar="SECONDS", help="time a worker has after claiming")
    p.add_argument(
        "--max-attempts", type=int, default=3, metavar="N", help="posts per candidate before it is dropped (default 3)"
    )
    p.add_argument(
        "--poll",
        type=float,
        default=0.25,
        metavar="SECONDS",
        help="pause after a turn in which nothing happened (default 0.25 s; each quiet turn is one "
        "eth_blockNumber request: raise it for a metered RPC endpoint)",
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="the search folder (default: <data dir>/searches/<space name>)"
    )
    p.add_argument("--devnet", action="store_true", help="use the local devnet (`idlegrid devnet`)")
    p.add_argument("--dev-account", type=int, metavar="N", help="with --devnet: sign with anvil's test account N")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", help="the wallet keystore's passphrase file")
    p.set_defaults(func=run)


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} {value} must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from engine.commands.requester import open_requester
    from engine.config import paths
    from engine.requester import parse_eth
    from engine.search.chainport import ChainMarket
    from engine.search.coordinator import Coordinator, SearchConfig
    from engine.search.load import load_space
    from engine.search.port import Terms
    from engine.search.sampler import SamplerKind
    from engine.search.state import SearchState

    space = load_space(args.space)      # a bad space fails before the wallet is unlocked
    for value, flag in ((args.budget, "--budget"), (args.population, "--population"), (args.sample, "--sample"),
                        (args.parallel, "--parallel"), (args.max_attempts, "--max-attempts")):
        _positive(value, flag)
    if args.sample > args.population:
        raise UsageError(f"--sample {args.sample} is larger than --population {args.population}",
                         hint="the parent is the best of a sample drawn from the population")
    reward = parse_eth(args.reward, "--reward")
    terms = Terms(reward=reward, stake=None if args.stake is None else parse_eth(args.stake, "--stake"),
                  window=args.window, claim_timeout=args.claim_timeout, train_timeout=args.train_timeout)
    config = SearchConfig(budget=args.budget, parallel=args.parallel, population=args.population, sample=args.sample,
                          sampler=SamplerKind(args.sampler), seed=args.seed, max_attempts=args.max_attempts,
                          poll_s=args.poll)
    folder = args.out or paths().ensure().data_dir / "searches" / space.name
    state = SearchState(folder / "search.sqlite3")
    line = ProgressLine(sys.stderr)
    try:
        with open_requester(args, blobs_needed=True) as requester:
            market = ChainMarket(requester, folder)
            coordinator = Coordinator(space, state, market, config, terms, on_progress=line.update)
            print(f"search {space.name}: budget {args.budget}, {args.parallel} in flight, sampler {args.sampler}; "
                  f"state in {folder}", file=sys.stderr)
            coordinator.run()
            audits = coordinator.audits_open()
        line.close()
        _finish(space, state, folder, audits)
    finally:
        state.close()
    return 0


class ProgressLine:
    """done, in flight, best so far and ETH spent, on one line (a line per change off a tty)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = ""
        self._started = time.monotonic()

    def update(self, p: Any) -> None:
        from engine.requester import format_eth

        best = "-" if p.best is None else f"{p.best:.4f}"
        text = (f"done {p.done}/{p.budget}  in flight {p.in_flight}  dropped {p.dropped}  best {best}  "
                f"spent {format_eth(p.spent_wei)} ETH")
        if text == self._last:
            return
        self._last = text
        stamp = f"[{int(time.monotonic() - self._started)}s] "
        self.stream.write(("\r" + stamp + text + "\x1b[K") if self.tty else stamp + text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _finish(space: Any, state: Any, folder: Path, audits: list[tuple[int, float]]) -> None:
    from engine.requester import format_eth
    from engine.search.results import build_report, table, write_exports

    report = build_report(space, state)
    files = write_exports(report, folder)
    best = report.best
    print(table(report))
    totals = report.totals()
    print(f"\ncost: rewards {format_eth(totals['reward_wei'])} ETH, fees {format_eth(totals['fees_wei'])} ETH, "
          f"gas {format_eth(totals['gas_wei'])} ETH; total {format_eth(totals['cost_wei'])} ETH "
          f"over {len(report.rows)} candidates")
    if audits:
        at = max(audits[0][1], time.time())
        print(f"audits open: {len(audits)} tasks; the verification fee no auditor earns comes back as each "
              f"closes (not yet counted above): run the same command again after "
              f"{time.strftime('%H:%M', time.localtime(at))} to close them")
    if best is not None:
        spec = folder / "specs" / f"{best.spec_sha256}.json"
        print(f"best:  candidate {best.candidate} ({best.arch}), {report.metric} {best.value:.4f}, "
              f"task {best.tasks[-1]}; spec {spec}")
        print(json.dumps(json.loads(spec.read_text(encoding="utf-8")), indent=None))
    print(f"table: {files['csv']}\njson:  {files['json']}\nplot:  {files['png']}")
