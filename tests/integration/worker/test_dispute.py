"""A challenged result: the jury's verdict reaches the job row, the notices and the ledger, to the wei."""

from __future__ import annotations

import pytest

from engine.chain.market import ResultSubmitted, TaskStatus
from engine.commit.merkle import MerkleTree
from engine.events import Kind
from engine.worker import CHALLENGED, COMMITTED, PAID, ROLE, SLASHED
from tests.integration.chain.actions import challenge, draw_jury, register_verifiers, vote
from tests.integration.worker.helpers import REWARD, STAKE, Recorder, drive, events_of


def job(worker, task_id: int):  # type: ignore[no-untyped-def]
    return worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE)


@pytest.fixture
def disputed(make_worker, poster, market_for, accounts, store):  # type: ignore[no-untyped-def]
    """A committed result, challenged at segment 1, the jury drawn: (worker, events, task, jurors)."""
    task_id = poster.post()
    events = Recorder()
    worker = make_worker(listener=events)
    drive(worker, lambda: (j := job(worker, task_id)) is not None and j.state == COMMITTED)
    (submitted,) = events_of(worker.market, ResultSubmitted, task_id)
    from engine.roles.results import ResultManifest, parse_blob_uri

    manifest = ResultManifest.from_bytes(store.get_bytes(parse_blob_uri(submitted.result_uri)))
    tree = MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves])
    verifiers = [market_for(a) for a in accounts[2:7]]
    register_verifiers(verifiers)
    challenge(verifiers[0], task_id, tree, segment=1)
    drive(worker, lambda: job(worker, task_id).state == CHALLENGED)
    jury = draw_jury(verifiers[0], task_id)
    jurors = [v for v in verifiers if v.sender.address in jury]
    return worker, events, task_id, jurors


def test_a_result_the_jury_rejects_is_recorded_as_slashed_and_the_task_is_not_claimed_again(disputed) -> None:
    worker, events, task_id, jurors = disputed
    vote(jurors, task_id, worker_honest=False)
    jurors[0].resolve(task_id).send()

    drive(worker, lambda: job(worker, task_id).state == SLASHED)
    assert job(worker, task_id).outcome == "slashed"
    assert worker.history.earnings(worker.chain_id, worker.market.address).slashed == STAKE
    assert any(e.kind is Kind.NOTICE and "challenged" in e.message for e in events)
    assert any(e.kind is Kind.NOTICE and "slashed" in e.message for e in events)
    for _ in range(5):
        worker.step()
    assert worker.market.get_task(task_id).status == TaskStatus.OPEN  # reopened for others, not for us


def test_a_result_the_jury_upholds_is_paid_with_the_challengers_bond_exactly(disputed) -> None:
    worker, _events, task_id, jurors = disputed
    vote(jurors, task_id, worker_honest=True)
    jurors[0].resolve(task_id).send()

    drive(worker, lambda: job(worker, task_id).state == PAID)
    credits = worker.market.credits(worker.account)
    assert credits > REWARD + STAKE  # reward, stake and the bond less the jurors' cut
    assert worker.history.earnings(worker.chain_id, worker.market.address).claimable == credits  # the ledger's own sum
    assert job(worker, task_id).outcome == "paid"
