"""Data availability on TaskMarket v2, across worker and verifier code (issue 15, attack 4).

On v1 a worker could withhold a checkpoint, let an auditor challenge for the missing data, and
upload it before the jurors judged: the verdict turned "honest" and the auditor lost its bond.
On v2 availability is decided on chain. Here a worker (the real worker, run as
``tests.e2e.cheater --strategy withhold``) commits an honest result but never uploads the
checkpoint at the end of its one segment and never answers for it. The verifier (``idlegrid
verifier``) cannot fetch it, so it demands it on chain; the response period passes; an answer
sent after it is refused by the market, whatever the worker uploads then; the verifier claims
the fault and takes the worker's stake. Each side's own books say what the chain says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from engine.chain.errors import ContractRevert
from engine.chain.records_v2 import DataDemanded, DataFault
from engine.chain.records_v2 import TaskStatusV2 as TaskStatus
from engine.chain.version import MarketVersion
from engine.commit.merkle import MerkleTree
from engine.history import History
from engine.storage.http import HttpStore
from engine.training.jobdir import JobDir
from tests.e2e import roles
from tests.e2e.actors import CHEATERS, REQUESTER, VERIFIERS, Actor
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.network import TestNet
from tests.e2e.procs import Procs, wait_until
from tests.e2e.specs import STAKE, post, tiny_digits

WITHHELD = 1  # checkpoint 1: the end of the task's one segment


@dataclass
class Run:
    net: TestNet
    actors: dict[str, Actor]
    task_id: int
    demand: DataDemanded
    fault: DataFault
    late_answer: str            # the market's reason for refusing the late answer
    report: LedgerReport


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("withheld")
    procs = Procs(root / "logs")
    try:
        with TestNet(root, version=MarketVersion.V2) as net:
            yield play(net, procs, root)
    finally:
        procs.close()


def play(net: TestNet, procs: Procs, root: Path) -> Run:
    actors = {"requester": net.actor("requester", REQUESTER), "verifier": net.actor("verifier", VERIFIERS[0]),
              "withholder": net.actor("withholder", CHEATERS["stale"])}
    market = net.market_v2()
    ledger = Ledger(market, {name: a.address for name, a in actors.items()})
    roles.verifier(procs, actors["verifier"])
    wait_until(lambda: market.is_verifier(actors["verifier"].address), 90, "the verifier to register", procs=procs)
    net.time_travel(market.params().epoch_length)  # its stake counts from the next epoch on
    task_id = post(procs, actors["requester"], tiny_digits("e2e-withheld", seed=11), root)
    roles.cheater(procs, actors["withholder"], "withhold", WITHHELD - 1)

    def demanded() -> DataDemanded | None:
        found = market.task_events(DataDemanded, task_id, from_block=market.deploy_block)
        return found[0] if found else None

    demand = wait_until(demanded, 300, "the verifier to demand the withheld checkpoint", procs=procs)
    net.time_travel(demand.deadline + 1 - net.now())
    late_answer = answer_late(net, actors["withholder"], task_id, demand)

    def faulted() -> DataFault | None:
        found = market.task_events(DataFault, task_id, from_block=market.deploy_block)
        return found[0] if found else None

    fault = wait_until(faulted, 120, "the verifier to claim the data fault", procs=procs)
    wait_until(lambda: verifier_books(actors["verifier"], net).get("data_fault"), 60,
               "the verifier to book the fault", procs=procs)
    procs.stop_all()
    return Run(net, actors, task_id, demand, fault, late_answer, ledger.report())


def answer_late(net: TestNet, withholder: Actor, task_id: int, demand: DataDemanded) -> str:
    """The worker uploads the checkpoint after the deadline and answers: the market refuses."""
    folder = next(withholder.jobs_dir.glob(f"*-{task_id}"))
    manifest = JobDir(folder).read_manifest()
    assert manifest is not None
    leaves = [bytes.fromhex(leaf) for leaf in manifest.leaves]
    blob = HttpStore(net.blobs.url).put_file(folder / f"ckpt-{demand.index:05d}.safetensors")
    market = net.market_v2().with_signer(Account.from_key(withholder.key))
    call = market.answer_data(demand.demand_id, leaves[demand.index], bytes.fromhex(blob),
                              MerkleTree(leaves).proof(demand.index))
    with pytest.raises(ContractRevert) as refused:
        call.send()
    return refused.value.reason


def verifier_books(actor: Actor, net: TestNet) -> dict[str, int]:
    history = History.open(actor.data_dir / "devnet" / f"dev-account-{actor.index}-history.sqlite3")
    try:
        return history.earnings(net.w3.eth.chain_id, net.deployment.market_address).by_kind
    finally:
        history.close()


def test_the_verifier_demands_the_withheld_checkpoint(run: Run) -> None:
    assert run.demand.demander == run.actors["verifier"].address
    assert run.demand.index == WITHHELD


def test_an_answer_after_the_deadline_is_refused(run: Run) -> None:
    # "too late", or "no demand" where the verifier claimed the fault first: refused either way
    assert run.late_answer in ("too late", "no demand")


def test_the_unanswered_demand_costs_the_worker_its_stake(run: Run) -> None:
    assert run.fault.demander == run.actors["verifier"].address and run.fault.slashed == STAKE
    assert run.report.gained("withholder") == -STAKE
    assert run.report.gained("verifier") == STAKE
    assert run.net.market_v2().get_task(run.task_id).status == TaskStatus.OPEN  # for an honest worker


def test_the_verifiers_books_say_what_the_chain_says(run: Run) -> None:
    books = verifier_books(run.actors["verifier"], run.net)
    assert books["data_fault"] == STAKE
    assert books["bond_returned"] == run.net.market_v2().params().min_challenge_bond  # the demand's bond, back


def test_not_one_wei_appears_or_vanishes(run: Run) -> None:
    report = run.report
    print(report.table())
    assert report.imbalance == 0, report.table()
