"""Jurors judge a checkpoint the worker answered a data demand for from the blob address its
answer fixed on chain, not from the one its manifest names: an answer naming an address that
holds nothing convicts the worker though the manifest's address serves the checkpoint, and an
answer naming another address that holds the checkpoint clears it though the manifest's is empty."""

from __future__ import annotations

import hashlib
from pathlib import Path

from safetensors.numpy import load_file, save_file

from engine.chain.market_v2 import payment_for
from engine.chain.records_v2 import DataDemanded, DisputeResolved, DisputeStatus, TaskPosted
from engine.roles.results import blob_uri
from tests.integration.chain_v2 import steps
from tests.integration.verifier.commitments import REWARD, STAKE, WINDOW, upload

DEMANDED = 1  # the second checkpoint of segment 0, the disputed segment


def _disputed_after_answer(c, store, trained, answer_blob: bytes, withhold: tuple[int, ...] = ()) -> tuple[int, int]:
    """A result of the honest checkpoints (``withhold``: never uploaded at the manifest's address);
    the challenger demands checkpoint ``DEMANDED``, the worker answers with ``answer_blob``, and
    the challenger disputes segment 0: (task id, dispute id)."""
    spec_sha = store.put_bytes(trained.spec_bytes)
    receipt = c.requester.post_task(bytes.fromhex(spec_sha), blob_uri(spec_sha),
                                    payment=payment_for(REWARD, c.requester.params().audit_fee_bps),
                                    worker_stake=STAKE, claim_timeout=3600, train_timeout=7200,
                                    challenge_window=WINDOW).send()
    task_id = steps.one(c.requester, receipt, TaskPosted).task_id
    c.worker.claim_task(task_id).send()
    up = upload(store, trained, task_id=task_id, withhold=withhold)
    c.worker.submit_result(task_id, up.tree.root, len(up.tree), up.result_uri).send()
    demand_id = steps.one(c.challenger, c.challenger.demand_data(task_id, DEMANDED).send(), DataDemanded).demand_id
    c.worker.answer_data(demand_id, up.tree.leaves[DEMANDED], answer_blob, up.tree.proof(DEMANDED)).send()
    return task_id, steps.challenge(c.challenger, task_id, up.tree, segment=0)


def _outcome(c, task_id: int, dispute_id: int) -> DisputeResolved:
    c.vote(*c.jurors)
    (resolved,) = c.requester.task_events(DisputeResolved, task_id)
    assert resolved.dispute_id == dispute_id
    return resolved


def test_an_answer_at_an_address_that_holds_nothing_convicts_the_worker(court, store, trained) -> None:
    c = court()
    nowhere = hashlib.sha256(b"a checkpoint nobody serves").digest()
    task_id, dispute_id = _disputed_after_answer(c, store, trained, nowhere)  # the manifest's addresses all serve

    c.settle()
    for j in c.drawn(dispute_id):
        duty = j.duty(task_id, dispute_id)
        assert duty["vote"] is False, duty
        assert duty["why"].startswith(f"bad_data: checkpoint {DEMANDED} (at blob {nowhere.hex()[:12]}"), duty
    resolved = _outcome(c, task_id, dispute_id)
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes) == (DisputeStatus.CHALLENGER_WON, 0, 5)


def test_an_answer_at_another_address_holding_the_checkpoint_clears_the_worker(court, store, trained,
                                                                               tmp_path: Path) -> None:
    c = court()
    again = tmp_path / "again.safetensors"  # the same tensors (the same leaf) in other bytes: another address
    save_file(load_file(str(trained.files[DEMANDED])), str(again), metadata={"encoded": "again"})
    answered = store.put_file(again)
    task_id, dispute_id = _disputed_after_answer(c, store, trained, bytes.fromhex(answered), withhold=(DEMANDED,))

    c.settle()
    for j in c.drawn(dispute_id):
        duty = j.duty(task_id, dispute_id)
        assert duty["vote"] is True and duty["why"].startswith("honest"), duty
    resolved = _outcome(c, task_id, dispute_id)
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes) == (DisputeStatus.WORKER_WON, 5, 0)
