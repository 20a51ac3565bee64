"""Waiting on a TaskMarket v2 for what the subprocesses do, and moving its clock when they must wait.

v2 addresses disputes by id and lets one result have several (every verifier whose replay
fails challenges it), so the helpers here follow every dispute of a task: they wait until each
drawn jury has committed (or revealed) and jump the clock past the period, until no dispute of
the task is open. Nothing here acts for an actor: drawing, voting and resolving are the
verifiers' own (``idlegrid verifier`` subprocesses).
"""

from __future__ import annotations

from engine.chain.market import Reveal
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import Challenged, DisputeStatus, DisputeV2
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until

ZERO = bytes(32)


def disputes_of(market: TaskMarketV2, task_id: int) -> list[DisputeV2]:
    """Every dispute ever opened on ``task_id`` (its ``Challenged`` events), as it stands now."""
    ids = [e.dispute_id for e in market.task_events(Challenged, task_id, from_block=market.deploy_block)]
    return [d for d in map(market.get_dispute, ids) if d is not None]


def _all_voted(market: TaskMarketV2, dispute: DisputeV2, *, revealed: bool) -> bool:
    jury = market.jury(dispute.dispute_id)
    if not jury:
        return False
    votes = [market.vote_of(dispute.dispute_id, juror) for juror in jury]
    if revealed:
        return all(v.reveal != Reveal.NONE for v in votes)
    return all(v.commitment != ZERO for v in votes)


def settle_disputes(net: TestNet, procs: Procs, task_ids: list[int], *, timeout: float = 300) -> None:
    """Drive every dispute of ``task_ids`` to its end. Once no challenge waits for its reveal and
    every open dispute has a jury that has done its current period's part (all committed in the
    commit period, all revealed in the reveal period), jump to the earliest of those periods'
    ends: disputes opened at different times move through their periods one jump at a time,
    and none loses a period it still needed. The verifiers draw, vote and resolve on their own.
    Ends when no task has an open dispute or an unrevealed challenge."""
    market = net.market_v2()

    def ready(dispute: DisputeV2, now: int) -> int | None:
        """The end of the dispute's current period if its jury has done that period's part."""
        if dispute.commit_deadline == 0:
            return None  # not drawn yet
        if now <= dispute.commit_deadline:
            return dispute.commit_deadline if _all_voted(market, dispute, revealed=False) else None
        if now <= dispute.reveal_deadline:
            return dispute.reveal_deadline if _all_voted(market, dispute, revealed=True) else None
        return None  # over: a verifier resolves it

    def progress() -> bool | None:
        if any(market.get_task(t).pending_challenges > 0 for t in task_ids):
            return None  # a committed challenge is yet to be revealed
        open_ = [d for t in task_ids for d in disputes_of(market, t) if d.status == DisputeStatus.OPEN]
        if not open_:
            return True
        now = net.now()
        ends = [ready(d, now) for d in open_]
        waiting = [d for d in open_ if now <= d.reveal_deadline or d.commit_deadline == 0]
        if waiting and all(end is not None for d, end in zip(open_, ends, strict=True) if d in waiting):
            net.time_travel(min(e for e in ends if e is not None) + 1 - now)
        return None

    wait_until(progress, timeout, f"the disputes of tasks {task_ids} to end", procs=procs, every=0.5)


def status_is(market: TaskMarketV2, task_id: int, status: int) -> bool:
    return market.get_task(task_id).status == status
