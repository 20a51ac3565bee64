"""Missing data on TaskMarket v2: a checkpoint that cannot be had is demanded on chain; left
unanswered, the worker's stake is claimed and booked; answered, the checkpoint is fetched again."""

from __future__ import annotations

import hashlib

from engine.chain.anvil import time_travel
from engine.chain.records_v2 import DataFault, TaskPosted, TaskStatusV2
from engine.roles.results import blob_uri
from engine.verifier import PASSED, RESOLVED
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
