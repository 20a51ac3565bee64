"""How each part of the network is started: the same commands a user runs, as subprocesses."""

from __future__ import annotations

from engine.chain.market import MarketEvent
from tests.e2e.actors import Actor
from tests.e2e.network import TestNet
from tests.e2e.procs import Proc, Procs

SAMPLES = 64      # more than any test task has segments: every segment is replayed, detection is certain
POLL_S = "0.5"


def verifier(procs: Procs, actor: Actor) -> Proc:
    """``idlegrid verifier``: registers its stake, audits every segment, serves on juries."""
    return procs.idlegrid(actor.name, actor, "verifier", "--devnet", "--dev-account", str(actor.index),
                          "--samples", str(SAMPLES), "--poll", POLL_S)


def worker(procs: Procs, actor: Actor, *extra: str, start: bool = True) -> Proc:
    """``idlegrid worker``, honest, ignoring the idle policy (nobody sits at a test machine)."""
    return procs.idlegrid(actor.name, actor, "worker", "--devnet", "--dev-account", str(actor.index),
                          "--ignore-idle", *extra, start=start)


def cheater(procs: Procs, actor: Actor, strategy: str, segment: int, *extra: str, start: bool = True) -> Proc:
    """A worker that fakes ``segment`` of its one task with ``strategy`` (tests/e2e/cheater.py)."""
    return procs.python(actor.name, actor, "tests.e2e.cheater", "--strategy", strategy, "--segment", str(segment),
                        "--devnet", "--dev-account", str(actor.index), "--ignore-idle", "--max-tasks", "1",
                        *extra, start=start)


def market_events(net: TestNet, first_block: int) -> list[MarketEvent]:
    """Every event the market logged from ``first_block`` on, in order."""
    market = net.client()
    logs = net.w3.eth.get_logs({"address": market.address, "fromBlock": first_block,
                                "toBlock": net.w3.eth.block_number})
    return [e for e in map(market.decode_log, logs) if e is not None]
