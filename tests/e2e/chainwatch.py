"""Waiting on the chain for what the subprocesses do, and moving its clock when they must wait.

The verifiers and workers act on their own; the test only watches the market and, where the
protocol waits for wall-clock periods (commit and reveal periods, the challenge window), jumps
anvil's clock once everybody has done what the period is for.
"""

from __future__ import annotations

from typing import Protocol

from web3 import Web3

from engine.chain.contract import MarketClient, TaskView
from engine.chain.market import Dispute, Reveal, TaskMarket, TaskStatus
from engine.chain.records_v2 import TaskStatusV2
from tests.e2e.procs import Procs, wait_until

ZERO = bytes(32)


class Chain(Protocol):
    """What these helpers need of a test chain: the devnet's :class:`tests.e2e.network.TestNet`
    or a deployed profile's :class:`tests.e2e.realchain.ProfileChain`."""

    w3: Web3

    def market(self) -> TaskMarket: ...

    def client(self) -> MarketClient: ...

    def time_travel(self, seconds: int) -> None: ...

    def now(self) -> int: ...


def task(net: Chain, task_id: int) -> TaskView:
    """The task, in the deployed version's record (statuses compare by value across versions)."""
    return net.client().get_task(task_id)


def wait_status(net: Chain, procs: Procs, task_id: int, *statuses: TaskStatus | TaskStatusV2, timeout: float = 120,
                why: str = "") -> TaskView:
    """Wait until task ``task_id`` is in one of ``statuses`` (``why`` explains a timeout)."""
    names = "/".join(s.name for s in statuses)
    return wait_until(lambda: (t := task(net, task_id)).status in statuses and t, timeout,
                      f"task {task_id} to be {names}{why}", procs=procs, every=0.5)


def jury_votes(market: TaskMarket, task_id: int) -> tuple[Dispute | None, list[bytes], list[Reveal]]:
    dispute = market.get_dispute(task_id)
    if dispute is None or not dispute.jury:
        return dispute, [], []
    votes = [market.vote_of(task_id, juror) for juror in dispute.jury]
    return dispute, [v.commitment for v in votes], [v.reveal for v in votes]


def settle_disputes(net: Chain, procs: Procs, task_ids: list[int], *, timeout: float = 240) -> None:
    """Drive the disputes of challenged tasks to their end, all at once (one clock jump passes
    every deadline): wait until every juror of every jury committed a vote, jump past the last
    commit deadline, wait until every juror revealed, jump past the last reveal deadline, and
    wait until each dispute was resolved (the task leaves CHALLENGED)."""
    market = net.market()
    size = market.params().jury_size

    def committed(task_id: int) -> bool:
        dispute, commitments, _ = jury_votes(market, task_id)
        return dispute is not None and len(commitments) == size and ZERO not in commitments

    def revealed(task_id: int) -> bool:
        _, _, reveals = jury_votes(market, task_id)
        return len(reveals) == size and Reveal.NONE not in reveals

    wait_until(lambda: all(committed(t) for t in task_ids), timeout,
               f"the juries of tasks {task_ids} to commit their votes", procs=procs, every=0.5)
    disputes = [market.get_dispute(t) for t in task_ids]
    net.time_travel(max(d.commit_deadline for d in disputes) + 1 - net.now())
    wait_until(lambda: all(revealed(t) for t in task_ids), timeout,
               f"the juries of tasks {task_ids} to reveal their votes", procs=procs, every=0.5)
    net.time_travel(max(d.reveal_deadline for d in disputes) + 1 - net.now())
    watched = {task_id: task(net, task_id).dispute_id for task_id in task_ids}

    def resolved(task_id: int) -> bool:
        # Left CHALLENGED, or already in a later dispute: a reopened task can be claimed, committed
        # (and challenged again) by the next worker before this poll sees it OPEN.
        t = task(net, task_id)
        return t.status != TaskStatus.CHALLENGED or t.dispute_id != watched[task_id]

    for task_id in task_ids:
        wait_until(lambda task_id=task_id: resolved(task_id), timeout, f"the dispute of task {task_id} to be resolved",
                   procs=procs, every=0.5)
