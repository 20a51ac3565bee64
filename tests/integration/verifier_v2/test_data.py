"""Missing data on TaskMarket v2: a checkpoint that cannot be had is demanded on chain; left
unanswered, the worker's stake is claimed and booked; answered, the checkpoint is fetched from the
blob address the answer fixed on chain (not the manifest's) and judged on its content, and missing
there it is challenged as bad data."""

from __future__ import annotations

import hashlib
from pathlib import Path

from safetensors.numpy import load_file, save_file

from engine.chain.anvil import time_travel
from engine.chain.records_v2 import DataFault, TaskPosted, TaskStatusV2
from engine.commit.leaf import leaf_hash
from engine.roles.results import blob_uri
from engine.verifier import CHALLENGED, PASSED, RESOLVED
from engine.verifier.states import AuditPhase
from tests.integration.chain_v2 import steps
from tests.integration.verifier.commitments import upload
from tests.integration.verifier_v2.helpers import PAYMENT, STAKE, WINDOW, publish


def test_a_withheld_checkpoint_is_demanded_and_unanswered_its_fault_pays_the_workers_stake(
        actor, v2_for, accounts, store, trained) -> None:
    me = actor(3, register=False)
    n = len(trained.files)
    posted = publish(store, v2_for(accounts[1]), v2_for(accounts[2]), trained, withhold=tuple(range(1, n)))
    me.settle()

    audit = me.job(posted.task_id).detail["audit"]
    demand = audit["demand"]
    segment = audit["segment"]
    assert audit["phase"] == AuditPhase.DEMAND
    assert demand["index"] == (segment if segment > 0 else 1)   # the first of the segment's two it lacks
    q = me.market.get_demand(demand["demand_id"])
    bond = me.market.params().min_challenge_bond
    assert q is not None and (q.task_id, q.demander, q.index, q.bond) == (posted.task_id, me.address,
                                                                         demand["index"], bond)
    assert me.ledger()["bond"] == bond
    assert me.said(f"demanded checkpoint {demand['index']} on chain")

    time_travel(me.market.w3, me.market.params().response_period + 1)  # the worker never answers
    me.settle()
    (fault,) = me.market.task_events(DataFault, posted.task_id)
    assert (fault.demander, fault.slashed) == (me.address, STAKE)
    assert me.market.credits(me.address) == bond + STAKE
    assert (me.ledger()["bond_returned"], me.ledger()["data_fault"]) == (bond, STAKE)
    job = me.job(posted.task_id)
    assert job.state == RESOLVED and "data fault" in job.outcome and "claimDataFault" in job.txs
    assert me.market.get_task(posted.task_id).status == TaskStatusV2.OPEN


def test_an_answered_demand_is_fetched_again_and_judged_on_its_content(actor, v2_for, accounts, store,
                                                                       trained) -> None:
    me = actor(3, register=False)
    n = len(trained.files)
    worker = v2_for(accounts[2])
    posted = publish(store, v2_for(accounts[1]), worker, trained, withhold=tuple(range(1, n)))
    me.settle()
    demand = me.job(posted.task_id).detail["audit"]["demand"]
    bond = me.market.params().min_challenge_bond

    # the worker uploads its checkpoints and answers within responsePeriod
    blobs = [store.put_file(path) for path in trained.files]
    i = demand["index"]
    worker.answer_data(demand["demand_id"], posted.tree.leaves[i], bytes.fromhex(blobs[i]),
                       posted.tree.proof(i)).send()
    me.settle()
    job = me.job(posted.task_id)
    assert (job.state, job.outcome, job.detail["audit"]["demand"]["answered"]) == (PASSED, "honest", blobs[i])
    assert me.ledger()["slashed"] == bond   # the bond went to the worker with its answer
    assert me.market.get_task(posted.task_id).status == TaskStatusV2.SUBMITTED


def _reencoded(path: Path, dest: Path) -> Path:
    """The same tensors (the same leaf) in other bytes: a second, valid blob address of one checkpoint."""
    save_file(load_file(str(path)), str(dest), metadata={"encoded": "again"})
    assert leaf_hash(load_file(str(dest))) == leaf_hash(load_file(str(path)))
    return dest


def _demanded(me, store, v2_for, accounts, trained):
    """A result whose checkpoints after the first are withheld, audited until ``me`` demanded one."""
    worker = v2_for(accounts[2])
    posted = publish(store, v2_for(accounts[1]), worker, trained, withhold=tuple(range(1, len(trained.files))))
    me.settle()
    demand = me.job(posted.task_id).detail["audit"]["demand"]
    assert demand["demand_id"] is not None
    return worker, posted, demand


def test_an_answer_at_another_address_than_the_manifests_is_fetched_from_the_answer(
        actor, v2_for, accounts, store, trained, tmp_path: Path) -> None:
    me = actor(3, register=False)
    worker, posted, demand = _demanded(me, store, v2_for, accounts, trained)
    i = demand["index"]
    for j, path in enumerate(trained.files):
        if j != i:
            store.put_file(path)
    # the manifest's address for checkpoint i stays empty; the answer names another one that holds it
    answered = store.put_file(_reencoded(trained.files[i], tmp_path / "again.safetensors"))
    worker.answer_data(demand["demand_id"], posted.tree.leaves[i], bytes.fromhex(answered),
                       posted.tree.proof(i)).send()
    me.settle()

    job = me.job(posted.task_id)
    assert (job.state, job.outcome, job.detail["audit"]["demand"]["answered"]) == (PASSED, "honest", answered)
    assert "challenge" not in job.detail
    assert me.market.get_task(posted.task_id).open_disputes == 0


def test_an_answer_at_an_address_that_holds_nothing_is_challenged_as_bad_data(
        actor, v2_for, accounts, store, trained) -> None:
    me = actor(3, register=False)
    worker, posted, demand = _demanded(me, store, v2_for, accounts, trained)
    for path in trained.files:  # the manifest's addresses all hold their checkpoints now...
        store.put_file(path)
    i = demand["index"]
    nowhere = hashlib.sha256(b"a checkpoint nobody serves").digest()  # ...but the answer names none of them
    worker.answer_data(demand["demand_id"], posted.tree.leaves[i], nowhere, posted.tree.proof(i)).send()
    me.settle()

    job = me.job(posted.task_id)
    challenge = job.detail["challenge"]
    assert job.state == CHALLENGED and challenge["verdict"] == "bad_data", (job.state, job.outcome)
    assert f"checkpoint {i} (at blob {nowhere.hex()[:12]}" in challenge["reason"]
    assert challenge["dispute_id"] is not None   # committed and revealed: a dispute for the jury
    assert me.market.get_dispute(challenge["dispute_id"]).segment == job.detail["audit"]["segment"]


def test_a_missing_manifest_is_demanded_at_the_salts_segment(actor, v2_for, accounts, store, trained) -> None:
    me = actor(3, register=False)
    requester, worker = v2_for(accounts[1]), v2_for(accounts[2])
    spec_sha = store.put_bytes(trained.spec_bytes)
    task_id = steps.one(requester, requester.post_task(
        bytes.fromhex(spec_sha), blob_uri(spec_sha), payment=PAYMENT, worker_stake=STAKE, claim_timeout=3600,
        train_timeout=7200, challenge_window=WINDOW).send(), TaskPosted).task_id
    worker.claim_task(task_id).send()
    up = upload(store, trained, task_id=task_id)
    never_uploaded = blob_uri(hashlib.sha256(b"a manifest nobody serves").hexdigest())
    worker.submit_result(task_id, up.tree.root, len(up.tree), never_uploaded).send()
    me.settle()

    audit = me.job(task_id).detail["audit"]
    assert audit["phase"] == AuditPhase.DEMAND
    assert audit["demand"]["index"] == audit["segment"] + 1
    assert audit["demand"]["why"].startswith("the result manifest is missing")
    q = me.market.get_demand(audit["demand"]["demand_id"])
    assert q is not None and q.demander == me.address
