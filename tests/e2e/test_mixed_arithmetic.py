"""A heterogeneous network (issue 14): the workers compute with one arithmetic, the verifiers
and jurors with another, and every verdict is still right.

On one CPU each process gets its own ``ATEN_CPU_CAPABILITY``: the workers the best kernel level
this CPU offers (``torch.backends.cpu.get_cpu_capability()``: AVX512 on this project's AMD
EPYC VM, which also offers AVX2 and DEFAULT), the four verifiers ``default``. The first test
checks that the two really compute different roots for the same spec. The tasks are tolerance
mode (the default), two 10-step segments each. One network for the module (``run``):

1. four cheaters, each a task: forward passes in bf16, one step skipped, one step skipped while
   the manifest declares device "mps" and arithmetic "mixed", NaN weights; each is challenged,
   judged by three jurors and slashed;
2. two more: an optimizer state that makes the replay crash, a planted checkpoint 0; then the
   honest worker takes every task left open (the four reopened ones and the two of round 2
   once reopened), the verifiers pass them all, and after the window it is paid.

The four original cheats (tests/e2e/test_network.py) run with the same split of arithmetic.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from engine.chain.market import (
    Challenged,
    DisputeResolved,
    MarketEvent,
    ResultSubmitted,
    TaskFinalized,
    TaskStatus,
)
from engine.spawn import idlegrid_command
from tests.e2e import roles
from tests.e2e.actors import HONEST, REQUESTER, VERIFIERS, Actor
from tests.e2e.chainwatch import settle_disputes, wait_status
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until
from tests.e2e.specs import WINDOW, post, tiny_digits
from tests.e2e.test_network import audits_passed, claimed_by
from tests.specs import write

WORKER_LEVEL = torch.backends.cpu.get_cpu_capability().lower()  # the best this CPU offers
VERIFIER_LEVEL = "default"
ROUND_ONE = {"bf16": 7, "skip_one_step": 8, "bogus_manifest": 9, "nan_weights": 0}
ROUND_TWO = {"crash_optimizer": 7, "planted_zero": 8}
CHEATS = [*ROUND_ONE, *ROUND_TWO]
TASKS = 6

pytestmark = pytest.mark.skipif(WORKER_LEVEL == VERIFIER_LEVEL,
                                reason="this CPU offers only the default kernels: one arithmetic")


def spec(i: int) -> dict:
    return tiny_digits(f"mixed-{i}", seed=20 + i, steps=20, every=10)


def level(name: str) -> dict[str, str]:
    return {"ATEN_CPU_CAPABILITY": name}


@dataclass
class Run:
    actors: dict[str, Actor]
    tasks: list[int]
    events: list[MarketEvent]
    cheated: dict[str, int]

    def of(self, cls: type, **match: object) -> list:
        return [e for e in self.events if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("mixed")
    procs = Procs(root / "logs")
    try:
        with TestNet(root) as net:
            yield play(net, procs, root)
    finally:
        procs.close()


def play(net: TestNet, procs: Procs, root: Path) -> Run:
    actors = {"requester": net.actor("requester", REQUESTER), "honest": net.actor("honest", HONEST)}
    actors["honest"].extra_env = level(WORKER_LEVEL)
    for i, index in enumerate(VERIFIERS):
        actors[f"verifier{i}"] = net.actor(f"verifier{i}", index)
        actors[f"verifier{i}"].extra_env = level(VERIFIER_LEVEL)
    for strategy, index in {**ROUND_ONE, **ROUND_TWO}.items():
        actors[strategy] = net.actor(strategy, index)
        actors[strategy].extra_env = level(WORKER_LEVEL)
    first_block = net.w3.eth.block_number
    tasks = [post(procs, actors["requester"], spec(i), root) for i in range(TASKS)]
    verifiers = [roles.verifier(procs, actors[f"verifier{i}"]) for i in range(len(VERIFIERS))]
    market = net.market()
    wait_until(lambda: all(market.is_verifier(actors[v.name].address) for v in verifiers), 120,
               "the four verifiers to register", procs=procs)
    cheated = cheat_round(net, procs, actors, tasks, ROUND_ONE)
    cheated.update(cheat_round(net, procs, actors, tasks, ROUND_TWO, then_honest=True))
    honest = actors["honest"].address

    def honest_committed() -> bool:
        return all((t := market.get_task(i)).status == TaskStatus.SUBMITTED and t.worker == honest for i in tasks)

    wait_until(honest_committed, 300, "the honest worker to commit every task", procs=procs)
    verifier_actors = [actors[f"verifier{i}"] for i in range(len(VERIFIERS))]
    wait_until(lambda: audits_passed(verifier_actors, tasks), 300, "the verifiers to pass the honest results",
               procs=procs)
    net.time_travel(WINDOW + 1)
    for task_id in tasks:
        wait_status(net, procs, task_id, TaskStatus.FINALIZED, timeout=120, why=" (finalized after the window)")
    wait_until(lambda: market.credits(honest) == 0, 60, "the honest worker to withdraw", procs=procs)
    procs.stop_all()
    return Run(actors, tasks, roles.market_events(net, first_block), cheated)


def cheat_round(net: TestNet, procs: Procs, actors: dict[str, Actor], tasks: list[int],
                strategies: dict[str, int], then_honest: bool = False) -> dict[str, int]:
    """Each cheater takes a task; each is caught, judged and slashed (the honest worker, once
    started, takes the others meanwhile)."""
    cheaters = [roles.cheater(procs, actors[s], s, 0) for s in strategies]
    cheated = {s: claimed_by(net, procs, actors[s], tasks) for s in strategies}
    if then_honest:
        roles.worker(procs, actors["honest"], "--auto-withdraw")
    for strategy, task_id in cheated.items():
        wait_status(net, procs, task_id, TaskStatus.CHALLENGED, timeout=300, why=f" ({strategy} caught)")
    settle_disputes(net, procs, list(cheated.values()), timeout=300)
    for proc in cheaters:
        proc.stop()
    return cheated


# ---------------------------------------------------------------- the tests


def dispute_of(run: Run, strategy: str) -> tuple[Challenged, DisputeResolved]:
    """The challenge of the cheater's result and how its dispute ended (round two reuses two
    dev accounts of round one, which may land on the same task again: take that round's)."""
    task_id = run.cheated[strategy]
    submitted = run.of(ResultSubmitted, task_id=task_id, worker=run.actors[strategy].address)
    mine = submitted[0] if strategy in ROUND_ONE else submitted[-1]
    end = min((s.block_number for s in run.of(ResultSubmitted, task_id=task_id)
               if s.block_number > mine.block_number), default=float("inf"))
    challenges = [c for c in run.of(Challenged, task_id=task_id) if mine.block_number < c.block_number < end]
    assert challenges, f"nobody challenged the {strategy} result"
    (resolved,) = run.of(DisputeResolved, task_id=task_id, dispute_id=challenges[0].dispute_id)
    return challenges[0], resolved


def test_the_workers_and_the_verifiers_arithmetic_differ(tmp_path: Path) -> None:
    """The premise: the same spec trained under each level gives different roots."""
    path = write(tmp_path / "spec.json", spec(0))
    roots = {}
    for name in (WORKER_LEVEL, VERIFIER_LEVEL):
        done = subprocess.run(idlegrid_command("train", str(path), "--out", str(tmp_path / name), "-q",
                                               "--device", "cpu"),
                              env={**os.environ, **level(name)}, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert f"/{name.upper()}/" in out["arithmetic"]
        roots[name] = out["merkle_root"]
    assert roots[WORKER_LEVEL] != roots[VERIFIER_LEVEL]


@pytest.mark.parametrize("strategy", CHEATS)
def test_each_cheat_is_challenged_and_slashed(run: Run, strategy: str) -> None:
    challenge, resolved = dispute_of(run, strategy)
    assert challenge.challenger in {run.actors[f"verifier{i}"].address for i in range(len(VERIFIERS))}
    assert not resolved.worker_won and resolved.cheat_votes > resolved.honest_votes


def test_the_honest_worker_is_paid_for_every_task(run: Run) -> None:
    honest = run.actors["honest"].address
    finalized = {e.task_id for e in run.of(TaskFinalized) if e.worker == honest}
    assert finalized == set(run.tasks)
    for task_id in run.tasks:  # no verifier of the other arithmetic challenged the honest result
        (mine,) = run.of(ResultSubmitted, task_id=task_id, worker=honest)
        assert not [c for c in run.of(Challenged, task_id=task_id) if c.block_number > mine.block_number]
