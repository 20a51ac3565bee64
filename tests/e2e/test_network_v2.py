"""The whole network on TaskMarket v2 (the dispute game of issue 15), for real: a requester posts
three digits tasks; four cheating workers and an honest one take them; four verifiers audit every
result, challenge the faked ones in two steps, sit on juries, and are paid to audit.

Every actor is a subprocess with its own IDLEGRID_HOME (real anvil, real blob server, real SQLite,
real training and replay), each running the command a user runs. The run happens once per
module (``run``):

0. the verifiers register (``minStakeNow``, their arithmetic); the clock moves one epoch on, so
   their stakes are in the snapshot juries and auditors are drawn from;
1. three cheaters (skipped steps, random weights, stale checkpoint) each take a task. Every
   verifier's replay of it fails, so every verifier commits a challenge and reveals it: one
   result, four disputes. Each is judged by a jury of three drawn from the others; the first
   verdict slashes the cheater once and voids the rest (bonds back); the tasks reopen;
2. the wrong-data cheater takes one, the honest worker the other two, and the cheater's once
   the jury reopened it;
3. the honest results: the assigned auditor of each commits the leaf it replayed; after the
   window the result is final, the auditor reveals and is paid its fee; the requester closes
   the audits; the honest worker withdraws.

The tests check the outcome against the chain's events and an independent ledger of every
account (gas from receipts): not one wei appears or vanishes. The network is heterogeneous
(issue 14): workers compute with this CPU's best kernel level, verifiers with the default one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from engine.chain.market_v2 import TaskMarketV2, payment_for
from engine.chain.records import MarketEvent
from engine.chain.records_v2 import (
    AuditCommitted,
    AuditRevealed,
    Challenged,
    DisputeResolved,
    DisputeStatus,
    JurorPenalized,
    JuryDrawn,
    ResultSubmitted,
    TaskClaimed,
    TaskFinalized,
)
from engine.chain.records_v2 import TaskStatusV2 as TaskStatus
from engine.chain.version import MarketVersion
from engine.history import History
from tests.e2e import roles
from tests.e2e.actors import CHEATERS, HONEST, REQUESTER, VERIFIERS, Actor
from tests.e2e.chainwatch import wait_status
from tests.e2e.chainwatch_v2 import settle_disputes
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until
from tests.e2e.specs import REWARD, STAKE, WINDOW, post, tiny_digits

WORKER_LEVEL = torch.backends.cpu.get_cpu_capability().lower()
VERIFIER_LEVEL = "default"
FAKED_SEGMENT = 0            # the one segment of a test task: every verifier's salt picks it
ROUND_ONE = ("skipped_steps", "random_weights", "stale")
JURY = 3                     # odd, and four verifiers leave three besides any challenger
FEE_BPS = 1000


@dataclass
class Run:
    net: TestNet
    actors: dict[str, Actor]
    tasks: list[int]
    report: LedgerReport
    events: list[MarketEvent]
    cheated: dict[str, int] = field(default_factory=dict)    # strategy -> task it faked

    def of(self, cls: type, **match: object) -> list:
        return [e for e in self.events if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("network-v2")
    procs = Procs(root / "logs")
    try:
        with TestNet(root, version=MarketVersion.V2, params={"jurySize": JURY}) as net:
            yield play(net, procs, root)
    finally:
        procs.close()


def play(net: TestNet, procs: Procs, root: Path) -> Run:
    actors = {"requester": net.actor("requester", REQUESTER), "honest": net.actor("honest", HONEST)}
    actors.update({f"verifier{i}": net.actor(f"verifier{i}", index) for i, index in enumerate(VERIFIERS)})
    actors.update({name: net.actor(name, index) for name, index in CHEATERS.items()})
    for name, actor in actors.items():
        actor.extra_env = {"ATEN_CPU_CAPABILITY": VERIFIER_LEVEL if name.startswith("verifier") else WORKER_LEVEL}
    market = net.market_v2()
    ledger = Ledger(market, {name: a.address for name, a in actors.items()})

    verifiers = [roles.verifier(procs, actors[f"verifier{i}"]) for i in range(len(VERIFIERS))]
    wait_until(lambda: all(market.is_verifier(actors[v.name].address) for v in verifiers), 90,
               "the four verifiers to register", procs=procs)
    net.time_travel(market.params().epoch_length)  # their stakes count from the next epoch on
    tasks = [post(procs, actors["requester"], tiny_digits(f"e2e-v2-digits-{i}", seed=i + 1), root) for i in range(3)]
    cheated = round_one(net, procs, actors, tasks)
    cheated["wrong_data"] = round_two(net, procs, actors, tasks)
    pay_out(net, procs, actors, tasks)
    books_settled(net, procs, actors["wrong_data"], -STAKE)
    procs.stop_all()
    return Run(net, actors, tasks, ledger.report(), roles.market_events(net, ledger.first_block), cheated)


def books_settled(net: TestNet, procs: Procs, actor: Actor, gained: int) -> None:
    """Wait until ``actor``'s own ledger says it gained ``gained`` (a worker books a verdict when it
    reads the market's event, a moment after the verdict is mined)."""
    wait_until(lambda: own_books(net, actor) == gained, 60, f"{actor.name} to book what it gained", procs=procs)


def challenged(market: TaskMarketV2, task_id: int) -> bool:
    """Whether the task's current result has been challenged (a task reopened by an earlier
    verdict has that result's challenges too: they do not count)."""
    t = market.get_task(task_id)
    return t.status == TaskStatus.SUBMITTED and any(
        e.block_number > t.submit_block for e in market.task_events(Challenged, task_id, from_block=t.submit_block))


def round_one(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> dict[str, int]:
    """Three cheaters take a task each; all three are caught, judged and slashed."""
    market = net.market_v2()
    cheaters = [roles.cheater(procs, actors[s], s, FAKED_SEGMENT) for s in ROUND_ONE]
    cheated = {s: claimed_by(net, procs, actors[s], tasks) for s in ROUND_ONE}
    for strategy, task_id in cheated.items():
        wait_until(lambda task_id=task_id: challenged(market, task_id), 300,
                   f"a challenge of task {task_id} ({strategy})", procs=procs)
    settle_disputes(net, procs, list(cheated.values()))
    for task_id in cheated.values():
        wait_status(net, procs, task_id, TaskStatus.OPEN, TaskStatus.CLAIMED, timeout=60, why=" (reopened)")
    for strategy in ROUND_ONE:  # stopped before it read the verdict, a worker could not book it
        books_settled(net, procs, actors[strategy], -STAKE)
    for proc in cheaters:
        proc.stop()
    return cheated


def round_two(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> int:
    """The wrong-data cheater takes a task before the honest worker starts; the honest worker
    commits the other two, then the cheater's once the jury reopened it. The cheater's task."""
    market, honest = net.market_v2(), actors["honest"].address
    roles.cheater(procs, actors["wrong_data"], "wrong_data", FAKED_SEGMENT)
    faked = claimed_by(net, procs, actors["wrong_data"], tasks)
    roles.worker(procs, actors["honest"], "--auto-withdraw")
    wait_until(lambda: challenged(market, faked), 300, "a challenge of the wrong_data result", procs=procs)

    def honest_committed(task_ids: list[int]) -> bool:
        return all((t := market.get_task(i)).status == TaskStatus.SUBMITTED and t.worker == honest for i in task_ids)

    wait_until(lambda: honest_committed([t for t in tasks if t != faked]), 300,
               "the honest worker to commit the two free tasks", procs=procs)
    settle_disputes(net, procs, [faked])
    wait_until(lambda: honest_committed([faked]), 300, "the honest worker to commit the reopened task",
               procs=procs)
    return faked


def pay_out(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> None:
    """The assigned auditors commit; the windows close; the results are final, the auditors
    reveal and are paid; the requester closes the audits; the honest worker withdraws."""
    market = net.market_v2()
    wait_until(lambda: all(audit_committed(market, t) for t in tasks), 300,
               "the assigned auditors to commit their audits", procs=procs)
    net.time_travel(WINDOW + 1)
    for task_id in tasks:
        wait_status(net, procs, task_id, TaskStatus.FINALIZED, timeout=120, why=" (finalized after the window)")
    wait_until(lambda: all(audit_revealed(market, t) for t in tasks), 120,
               "the auditors to reveal and be paid", procs=procs)
    net.time_travel(market.params().reveal_period + 1)
    for task_id in tasks:
        proc = procs.idlegrid(f"close-audit-{task_id}", actors["requester"], "requester", "close-audit", str(task_id),
                              "--devnet", "--dev-account", str(actors["requester"].index))
        assert proc.wait(60) == 0, proc.tail()
    wait_until(lambda: market.credits(actors["honest"].address) == 0, 60, "the honest worker to withdraw",
               procs=procs)


def final_round(market: TaskMarketV2, task_id: int) -> int:
    return market.get_task(task_id).submit_block


def audit_committed(market: TaskMarketV2, task_id: int) -> bool:
    """Whether every auditor assigned to the task's current result has committed its audit."""
    assigned = market.auditors(task_id)
    if not assigned or market.get_audit(task_id).round != final_round(market, task_id):
        return False
    done = {e.auditor for e in market.task_events(AuditCommitted, task_id, from_block=final_round(market, task_id))}
    return set(assigned) <= done


def audit_revealed(market: TaskMarketV2, task_id: int) -> bool:
    revealed = {e.auditor for e in market.task_events(AuditRevealed, task_id, from_block=final_round(market, task_id))}
    return set(market.auditors(task_id)) <= revealed


def claimed_by(net: TestNet, procs: Procs, actor: Actor, tasks: list[int]) -> int:
    """The task ``actor`` claimed (waiting until it has claimed one)."""
    market = net.market_v2()

    def find() -> int | None:
        for task_id in tasks:
            t = market.get_task(task_id)
            if t.worker == actor.address and t.status in (TaskStatus.CLAIMED, TaskStatus.SUBMITTED):
                return task_id
        return None

    return wait_until(find, 120, f"{actor.name} to claim a task", procs=procs)


# ---------------------------------------------------------------- the tests


def verifier_addresses(run: Run) -> set[str]:
    return {run.actors[f"verifier{i}"].address for i in range(len(VERIFIERS))}


def disputes_of_cheat(run: Run, strategy: str) -> list[tuple[Challenged, DisputeResolved]]:
    """Every challenge of the cheater's result, with how its dispute ended."""
    cheater = run.actors[strategy].address
    task_id = run.cheated[strategy]
    (submitted,) = run.of(ResultSubmitted, task_id=task_id, worker=cheater)
    later = [e.block_number for e in run.of(ResultSubmitted, task_id=task_id)
             if e.block_number > submitted.block_number]
    end = min(later, default=float("inf"))  # the next result of the reopened task
    challenges = [c for c in run.of(Challenged, task_id=task_id) if submitted.block_number < c.block_number < end]
    assert challenges, f"nobody challenged the {strategy} result"
    return [(c, *run.of(DisputeResolved, dispute_id=c.dispute_id)) for c in challenges]


@pytest.mark.parametrize("strategy", [*ROUND_ONE, "wrong_data"])
def test_every_verifier_challenges_each_cheat_on_its_faked_segment(run: Run, strategy: str) -> None:
    disputes = disputes_of_cheat(run, strategy)
    assert {c.challenger for c, _ in disputes} == verifier_addresses(run)
    assert all(c.segment == FAKED_SEGMENT for c, _ in disputes)


@pytest.mark.parametrize("strategy", [*ROUND_ONE, "wrong_data"])
def test_each_cheat_is_convicted_once_and_its_other_disputes_are_void(run: Run, strategy: str) -> None:
    disputes = disputes_of_cheat(run, strategy)
    outcomes = sorted(DisputeStatus(r.outcome).name for _, r in disputes)
    assert outcomes == ["CHALLENGER_WON"] + ["VOID"] * (len(disputes) - 1)
    (won,) = [(c, r) for c, r in disputes if r.outcome == DisputeStatus.CHALLENGER_WON]
    challenge, resolved = won
    drawn = run.of(JuryDrawn, dispute_id=challenge.dispute_id)
    assert len(set(drawn[-1].jury)) == JURY and challenge.challenger not in drawn[-1].jury
    assert (resolved.cheat_votes, resolved.honest_votes) == (JURY, 0)
    assert resolved.slashed == STAKE
    assert run.report.gained(strategy) == -STAKE


def test_only_cheats_are_challenged(run: Run) -> None:
    cheaters = {run.actors[s].address for s in run.cheated}
    for challenge in run.of(Challenged):
        worker = next(c.worker for c in reversed(run.of(TaskClaimed, task_id=challenge.task_id))
                      if c.block_number < challenge.block_number)
        assert worker in cheaters


def test_the_honest_worker_is_paid_for_all_three_tasks(run: Run) -> None:
    honest = run.actors["honest"].address
    finalized = run.of(TaskFinalized)
    assert sorted(f.task_id for f in finalized) == sorted(run.tasks)
    assert all(f.worker == honest and f.payout == REWARD + STAKE for f in finalized)
    assert run.report.gained("honest") == 3 * REWARD
    assert run.report.after["honest"].credits == 0  # withdrawn to the wallet


def test_each_honest_result_pays_its_assigned_auditor_the_fee(run: Run) -> None:
    fee = payment_for(REWARD, FEE_BPS) - REWARD
    for task_id in run.tasks:
        revealed = run.of(AuditRevealed, task_id=task_id)
        assert len(revealed) == 1, f"task {task_id}: {revealed}"
        assert revealed[0].auditor in verifier_addresses(run)
        assert revealed[0].fee == fee and revealed[0].segment == FAKED_SEGMENT


def test_the_requester_pays_the_rewards_and_the_earned_fees(run: Run) -> None:
    fees = sum(e.fee for e in run.of(AuditRevealed))
    assert run.report.gained("requester") == -3 * REWARD - fees


def test_verifiers_gain_the_cheaters_stakes_and_the_fees(run: Run) -> None:
    """What the cheaters lost and the requester paid in fees is exactly what the verifiers gained
    (challengers and jurors share the stakes; no juror was fined: every one revealed, with the
    outcome)."""
    assert not run.of(JurorPenalized)
    verifiers = [f"verifier{i}" for i in range(len(VERIFIERS))]
    gained = sum(run.report.gained(v) for v in verifiers)
    assert gained == len(run.cheated) * STAKE + sum(e.fee for e in run.of(AuditRevealed))


def own_books(net: TestNet, actor: Actor) -> int:
    """What ``actor``'s own history says it gained: earned less slashed and fined (stakes and bonds
    locked and returned cancel out; gas is not in the chain's ``gained`` either); 0 before it has one."""
    path = (actor.data_dir / "devnet" / f"dev-account-{actor.index}-history.sqlite3"
            if actor.name.startswith("verifier")
            else actor.data_dir / "history.sqlite3")  # where `idlegrid verifier|worker --dev-account N` keep it
    if not path.exists():
        return 0
    history = History.open(path)
    try:
        e = history.earnings(net.w3.eth.chain_id, net.deployment.market_address)
    finally:
        history.close()
    return e.earned - e.slashed - e.fined


@pytest.mark.parametrize("name", ["honest", *ROUND_ONE, "wrong_data", *(f"verifier{i}" for i in range(len(VERIFIERS)))])
def test_each_actors_own_ledger_matches_the_chain_to_the_wei(run: Run, name: str) -> None:
    """The books every client keeps (its history's ledger: audit fees, juror shares, challenge
    payouts, void disputes' refunds, slashes) say what the chain says it gained."""
    assert own_books(run.net, run.actors[name]) == run.report.gained(name)


def test_not_one_wei_appears_or_vanishes(run: Run) -> None:
    """Σ over every account of (wallet + credits + verifier stake) change, plus the escrow's
    change, is exactly minus the gas the receipts say was paid."""
    report = run.report
    print(report.table())
    assert report.outsiders == {}, "someone outside the test's accounts sent transactions"
    assert report.imbalance == 0, report.table()
    assert report.escrow_after == 0, "every task is settled and every audit closed: nothing is left in escrow"
