"""The whole network, for real: a requester posts three digits tasks; four cheating workers and
an honest one take them; four verifiers audit every segment, challenge, and sit on juries.

Every actor is a subprocess with its own IDLEGRID_HOME (real anvil, real blob server, real
SQLite, real training and replay). The run happens once per module (``run``), in two rounds:

1. three cheaters (skipped steps, random weights, stale checkpoint) each take a task; each
   is challenged on its faked segment, judged by a jury of three, slashed; the tasks reopen;
2. the wrong-data cheater takes one, the honest worker the other two; the wrong-data cheat is
   slashed in turn and the honest worker takes its task too; after the challenge windows the
   honest worker is paid for all three and withdraws.

The tests then check the outcome against the chain's events and an independent ledger of
every account (gas from receipts): not one wei appears or vanishes.

The network is heterogeneous (issue 14): the workers compute with the best kernel level of
this CPU, the verifiers and jurors with ``ATEN_CPU_CAPABILITY=default``
(tests/e2e/test_mixed_arithmetic.py checks that the two give different roots).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from engine.chain.market import (
    Challenged,
    DisputeResolved,
    JurorPenalized,
    JuryDrawn,
    MarketEvent,
    ResultSubmitted,
    TaskClaimed,
    TaskFinalized,
    TaskStatus,
)
from engine.history import History
from tests.e2e import roles
from tests.e2e.actors import CHEATERS, HONEST, REQUESTER, VERIFIERS, Actor
from tests.e2e.chainwatch import settle_disputes, wait_status
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until
from tests.e2e.specs import REWARD, STAKE, WINDOW, post, tiny_digits

WORKER_LEVEL = torch.backends.cpu.get_cpu_capability().lower()  # the best this CPU offers
VERIFIER_LEVEL = "default"
FAKED_SEGMENT = 0            # replayed first, so every verifier sees the cheat at once
ROUND_ONE = ("skipped_steps", "random_weights", "stale")
BPS = 10_000


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
    root = tmp_path_factory.mktemp("network")
    procs = Procs(root / "logs")
    try:
        with TestNet(root) as net:
            yield play(net, procs, root)
    finally:
        procs.close()


def play(net: TestNet, procs: Procs, root: Path) -> Run:
    actors = {"requester": net.actor("requester", REQUESTER), "honest": net.actor("honest", HONEST)}
    actors.update({f"verifier{i}": net.actor(f"verifier{i}", index) for i, index in enumerate(VERIFIERS)})
    actors.update({name: net.actor(name, index) for name, index in CHEATERS.items()})
    for name, actor in actors.items():
        actor.extra_env = {"ATEN_CPU_CAPABILITY": VERIFIER_LEVEL if name.startswith("verifier") else WORKER_LEVEL}
    ledger = Ledger(net.market(), {name: a.address for name, a in actors.items()})

    tasks = [post(procs, actors["requester"], tiny_digits(f"e2e-digits-{i}", seed=i + 1), root) for i in range(3)]
    verifiers = [roles.verifier(procs, actors[f"verifier{i}"]) for i in range(len(VERIFIERS))]
    market = net.market()
    wait_until(lambda: all(market.is_verifier(actors[v.name].address) for v in verifiers), 90,
               "the four verifiers to register", procs=procs)
    cheated = round_one(net, procs, actors, tasks)
    cheated["wrong_data"] = round_two(net, procs, actors, tasks)
    pay_out(net, procs, actors, tasks)
    procs.stop_all()
    return Run(net, actors, tasks, ledger.report(), roles.market_events(net, ledger.first_block), cheated)


def round_one(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> dict[str, int]:
    """Three cheaters take a task each; all three are caught, judged and slashed at once."""
    cheaters = [roles.cheater(procs, actors[s], s, FAKED_SEGMENT) for s in ROUND_ONE]
    cheated = {s: claimed_by(net, procs, actors[s], tasks) for s in ROUND_ONE}
    for strategy, task_id in cheated.items():
        wait_status(net, procs, task_id, TaskStatus.CHALLENGED, timeout=240, why=f" ({strategy} caught)")
    settle_disputes(net, procs, list(cheated.values()))
    for proc in cheaters:
        proc.stop()
    return cheated


def round_two(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> int:
    """The wrong-data cheater takes a task before the honest worker starts; the honest worker
    commits the other two, then the cheater's once the jury reopened it. The cheater's task."""
    market, honest = net.market(), actors["honest"].address
    roles.cheater(procs, actors["wrong_data"], "wrong_data", FAKED_SEGMENT)
    faked = claimed_by(net, procs, actors["wrong_data"], tasks)
    roles.worker(procs, actors["honest"], "--auto-withdraw")
    wait_status(net, procs, faked, TaskStatus.CHALLENGED, timeout=240, why=" (wrong_data caught)")

    def honest_committed(task_ids: list[int]) -> bool:
        return all((t := market.get_task(i)).status == TaskStatus.SUBMITTED and t.worker == honest for i in task_ids)

    wait_until(lambda: honest_committed([t for t in tasks if t != faked]), 240,
               "the honest worker to commit the two free tasks", procs=procs)
    settle_disputes(net, procs, [faked])
    wait_until(lambda: honest_committed([faked]), 240, "the honest worker to commit the reopened task",
               procs=procs)
    return faked


def pay_out(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int]) -> None:
    """Every verifier passes the honest results; the windows close; the honest worker is paid
    and withdraws."""
    verifiers = [name for name in actors if name.startswith("verifier")]
    wait_until(lambda: audits_passed([actors[v] for v in verifiers], tasks), 240,
               "the verifiers to pass the honest results", procs=procs)
    net.time_travel(WINDOW + 1)
    for task_id in tasks:
        wait_status(net, procs, task_id, TaskStatus.FINALIZED, timeout=120, why=" (finalized after the window)")
    market = net.market()
    wait_until(lambda: market.credits(actors["honest"].address) == 0, 60, "the honest worker to withdraw",
               procs=procs)


def claimed_by(net: TestNet, procs: Procs, actor: Actor, tasks: list[int]) -> int:
    """The task ``actor`` claimed (waiting until it has claimed one)."""
    market = net.market()

    def find() -> int | None:
        for task_id in tasks:
            t = market.get_task(task_id)
            if t.worker == actor.address and t.status in (TaskStatus.CLAIMED, TaskStatus.SUBMITTED,
                                                          TaskStatus.CHALLENGED):
                return task_id
        return None

    return wait_until(find, 120, f"{actor.name} to claim a task", procs=procs)


def audits_passed(verifiers: list[Actor], tasks: list[int]) -> bool:
    """Whether every verifier's history says it audited each task's final result and passed it."""
    for actor in verifiers:
        path = verifier_history(actor)
        if not path.exists():
            return False
        history = History.open(path)
        try:
            jobs = {j.task_id: j for j in history.jobs(role="verifier")}
        finally:
            history.close()
        if any(jobs.get(t) is None or jobs[t].state != "passed" for t in tasks):
            return False
    return True


def verifier_history(actor: Actor) -> Path:
    """Where ``idlegrid verifier --dev-account N`` keeps its history (engine.verifier.Verifier.from_settings:
    a dev account's jobs never mix with the user's)."""
    return actor.data_dir / "devnet" / f"dev-account-{actor.index}-history.sqlite3"


# ---------------------------------------------------------------- the tests


def dispute_of(run: Run, strategy: str) -> tuple[Challenged, DisputeResolved]:
    """The challenge of the cheater's result, and how its dispute ended."""
    cheater = run.actors[strategy].address
    task_id = run.cheated[strategy]
    (submitted,) = run.of(ResultSubmitted, task_id=task_id, worker=cheater)
    challenges = [c for c in run.of(Challenged, task_id=task_id) if c.block_number > submitted.block_number]
    assert challenges, f"nobody challenged the {strategy} result"
    (resolved,) = run.of(DisputeResolved, task_id=task_id, dispute_id=challenges[0].dispute_id)
    return challenges[0], resolved


@pytest.mark.parametrize("strategy", [*ROUND_ONE, "wrong_data"])
def test_each_cheat_is_challenged_on_its_faked_segment(run: Run, strategy: str) -> None:
    challenge, _ = dispute_of(run, strategy)
    assert challenge.segment == FAKED_SEGMENT
    assert challenge.challenger in {run.actors[f"verifier{i}"].address for i in range(len(VERIFIERS))}


@pytest.mark.parametrize("strategy", [*ROUND_ONE, "wrong_data"])
def test_each_cheat_is_judged_by_three_jurors_and_slashed(run: Run, strategy: str) -> None:
    challenge, resolved = dispute_of(run, strategy)
    (drawn,) = run.of(JuryDrawn, task_id=challenge.task_id, dispute_id=challenge.dispute_id)
    assert len(set(drawn.jury)) == 3 and challenge.challenger not in drawn.jury
    assert (resolved.worker_won, resolved.cheat_votes, resolved.honest_votes) == (False, 3, 0)
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


def test_the_requester_pays_exactly_the_three_rewards(run: Run) -> None:
    assert run.report.gained("requester") == -3 * REWARD


def test_verifiers_gain_what_the_contract_rules_give(run: Run) -> None:
    """Per resolved dispute: each of the three jurors that voted with the outcome gets a third
    of jurorRewardBps of the stake, the challenger its bond back and the rest of the stake."""
    params = run.net.market().params()
    assert not run.of(JurorPenalized)
    expected = {f"verifier{i}": 0 for i in range(len(VERIFIERS))}
    by_address = {run.actors[name].address: name for name in expected}
    for resolved in run.of(DisputeResolved):
        (challenge,) = run.of(Challenged, task_id=resolved.task_id, dispute_id=resolved.dispute_id)
        share = STAKE * params.juror_reward_bps // BPS // params.jury_size
        assert resolved.juror_share == share
        expected[by_address[challenge.challenger]] += STAKE - share * params.jury_size
        for juror in jury_of(run, resolved):
            expected[by_address[juror]] += share
    assert {name: run.report.gained(name) for name in expected} == expected


def jury_of(run: Run, resolved: DisputeResolved) -> tuple[str, ...]:
    (drawn,) = run.of(JuryDrawn, task_id=resolved.task_id, dispute_id=resolved.dispute_id)
    return drawn.jury


def test_not_one_wei_appears_or_vanishes(run: Run) -> None:
    """Σ over every account of (wallet + credits + verifier stake) change, plus the escrow's
    change, is exactly minus the gas the receipts say was paid."""
    report = run.report
    print(report.table())  # shown with `pytest -rP`: the run's money, account by account
    assert report.outsiders == {}, "someone outside the test's accounts sent transactions"
    assert report.imbalance == 0, report.table()
    assert report.escrow_after == 0, "every task is settled, so nothing is left in escrow"
