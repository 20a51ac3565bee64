"""Divergence is a result (issue 14): a spec whose loss becomes NaN is trained to the end,
committed, passes a verifier's replay and is paid; the worker never gives up and loses its stake."""

from __future__ import annotations

import math
from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.market import ResultSubmitted, TaskPosted, TaskStatus
from engine.roles.results import ResultManifest, parse_blob_uri
from engine.verifier.evidence import Commitment, Verdict, check_segment, fetch_result
from engine.worker import PAID, ROLE
from tests.integration.worker.helpers import REWARD, STAKE, WINDOW, Recorder, drive, events_of, tiny_spec


def test_a_diverging_spec_is_committed_judged_honest_and_paid(make_worker, poster, history, store, chain,
                                                             tmp_path: Path) -> None:
    task_id = poster.post(tiny_spec(optimizer={"kind": "sgd", "lr": 1e6, "momentum": 0.9}))
    events = Recorder()
    worker = make_worker(listener=events)

    drive(worker, lambda: poster.market.get_task(task_id).status == TaskStatus.SUBMITTED)

    (submitted,) = events_of(poster.market, ResultSubmitted, task_id)
    manifest = ResultManifest.from_bytes(store.get_bytes(parse_blob_uri(submitted.result_uri)))
    assert len(manifest.leaves) == 5  # every checkpoint, to the last step
    losses = [e.data["loss"] for e in events if e.data.get("loss") is not None]
    assert losses and not all(math.isfinite(x) for x in losses), "the spec did not diverge"
    commitment = Commitment(task_id, submitted.merkle_root, submitted.num_leaves, submitted.result_uri,
                            events_of(poster.market, TaskPosted, task_id)[0].spec_hash)
    result = fetch_result(store, commitment)
    last = check_segment(result, result.segments - 1, store, tmp_path / "verify", in_process=True)
    assert last.verdict is Verdict.HONEST, last.detail  # the NaNs replay in the same places

    time_travel(chain, WINDOW + 1)
    drive(worker, lambda: history.job(worker.chain_id, worker.market.address, task_id, ROLE).state == PAID)
    assert worker.market.credits(worker.account) == REWARD + STAKE
