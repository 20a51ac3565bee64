"""Tasks the worker must not claim: bad spec blobs, specs over this machine's limits, lost races."""

from __future__ import annotations

import hashlib
import json
import subprocess

from engine.chain.market import TaskStatus
from engine.events import EngineState, Kind
from engine.network.gas import job_gas_cost
from engine.spawn import idlegrid_command
from engine.worker import LOST, ROLE
from tests.integration.worker.helpers import Recorder, drive, tiny_spec


def skipped(events: Recorder, task_id: int) -> str:
    (reason,) = [e.data["reason"] for e in events if e.kind is Kind.LOG and e.task_id == task_id
                 and e.data.get("skipped")]
    return reason


def settle(worker) -> None:
    """Turn until there is nothing left to do."""
    for _ in range(50):
        if not worker.step():
            return
    raise AssertionError("the worker kept busy")


def test_a_spec_over_this_machines_memory_is_never_claimed_and_the_reason_is_logged(
        make_worker, poster, history) -> None:
    task_id = poster.post()
    events = Recorder()
    settle(make_worker(listener=events, max_memory_mb=64))
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN
    assert "over your cap of 64 MiB" in skipped(events, task_id)
    assert any(e.task_id == task_id and "skipped" in e.message for e in history.events())
    assert history.job(1, poster.market.address, task_id, ROLE) is None


def test_a_task_paying_under_the_minimum_rate_is_skipped(make_worker, poster) -> None:
    task_id = poster.post(reward=10**16)
    events = Recorder()
    settle(make_worker(listener=events, min_wei_per_hour=10**30))
    assert "below your minimum" in skipped(events, task_id)
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN


def test_a_task_whose_gas_would_eat_its_reward_waits_with_gas_too_high_and_stays_a_candidate(
        make_worker, poster) -> None:
    task_id = poster.post(reward=2 * job_gas_cost(poster.market.gas_price()))   # gas would eat half of it
    events = Recorder()
    worker = make_worker(listener=events)
    settle(worker)
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN
    assert worker.status().reason.startswith("waiting: gas too high")
    assert "over your 25% limit" in worker.status().reason
    assert task_id in worker._candidates  # claimed once gas falls, not skipped for good
    settle(make_worker(listener=events, max_gas_share=1.0, min_wei_per_hour=10**30))  # a share that allows it
    assert "below your minimum" in skipped(events, task_id)


def test_a_task_too_long_for_its_training_timeout_is_skipped(make_worker, poster) -> None:
    task_id = poster.post(train_timeout=60)
    events = Recorder()
    settle(make_worker(listener=events, flops_per_second=1e6))
    assert "over the task's training timeout of 1 min 00 s" in skipped(events, task_id)


def test_a_spec_blob_that_does_not_hash_to_the_on_chain_spec_hash_is_skipped(make_worker, poster) -> None:
    raw = json.dumps(tiny_spec()).encode()
    task_id = poster.post(raw=raw, spec_hash=hashlib.sha256(b"another spec").digest())
    events = Recorder()
    settle(make_worker(listener=events))
    assert "its on-chain specHash is" in skipped(events, task_id)
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN


def test_an_invalid_spec_is_skipped_naming_the_field(make_worker, poster) -> None:
    task_id = poster.post(raw=json.dumps({**tiny_spec(), "steps": -5}, sort_keys=True).encode())
    events = Recorder()
    settle(make_worker(listener=events))
    assert skipped(events, task_id).startswith("its spec is invalid: steps:")


def test_a_spec_uri_that_is_not_a_blob_uri_is_skipped(make_worker, poster) -> None:
    task_id = poster.post(uri="https://example.com/spec.json")
    events = Recorder()
    settle(make_worker(listener=events))
    assert "is not a blob URI" in skipped(events, task_id)


def test_a_missing_spec_blob_is_skipped(make_worker, poster) -> None:
    raw = json.dumps(tiny_spec(), sort_keys=True).encode()
    task_id = poster.post(raw=b"{}", spec_hash=hashlib.sha256(raw).digest(),
                          uri=f"blob:{hashlib.sha256(raw).hexdigest()}")
    events = Recorder()
    settle(make_worker(listener=events))
    assert "not found" in skipped(events, task_id).lower() or "no blob" in skipped(events, task_id).lower()


def test_a_claim_lost_to_another_worker_moves_on_to_the_next_task(
        make_worker, poster, market_for, accounts, monkeypatch) -> None:
    first, second = poster.post(), poster.post()
    rival = market_for(accounts[2])
    worker = make_worker()
    evaluate = type(worker)._evaluate

    def evaluate_then_lose(self, task):  # type: ignore[no-untyped-def]
        job = evaluate(self, task)
        if task.task_id == first:
            rival.claim_task(first).send()  # the rival's claim is mined first
        return job

    monkeypatch.setattr(type(worker), "_evaluate", evaluate_then_lose)
    drive(worker, lambda: worker.market.get_task(second).worker == worker.account, timeout=30)
    lost = worker.history.job(worker.chain_id, worker.market.address, first, ROLE)
    assert (lost.state, lost.outcome) == (LOST, "lost_race")
    assert worker.market.get_task(first).worker == rival.sender.address


def test_nothing_is_claimed_while_paused_or_snoozed_and_resume_claims(make_worker, poster) -> None:
    task_id = poster.post()
    worker = make_worker()
    worker.pause("paused for a call")
    settle(worker)
    assert (worker.status().state, worker.status().reason) == (EngineState.PAUSED, "paused for a call")
    worker.resume()
    worker.snooze(600)
    settle(worker)
    assert worker.status().state is EngineState.PAUSED and worker.status().reason.startswith("snoozed until")
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN

    worker.resume()
    drive(worker, lambda: poster.market.get_task(task_id).worker == worker.account, timeout=30)


def test_an_exact_spec_of_other_arithmetic_is_skipped_with_the_reason(make_worker, poster) -> None:
    """Issue 14: only workers with the arithmetic an exact-mode spec names may claim it (any
    other would commit a result no verifier of that arithmetic reproduces, and lose its stake)."""
    other = "cuda/NVIDIA_H200/sm_90/torch-2.11/cuda-13.0"
    task_id = poster.post(tiny_spec(verification={"mode": "exact", "arithmetic": other}))
    events = Recorder()
    settle(make_worker(listener=events))
    reason = skipped(events, task_id)
    assert f"its spec requires arithmetic {other} (exact mode); this machine computes with cpu/" in reason
    assert poster.market.get_task(task_id).status == TaskStatus.OPEN


def test_an_exact_spec_of_this_machines_arithmetic_is_claimed(make_worker, poster) -> None:
    here = subprocess.run(idlegrid_command("arithmetic", "--device", "cpu"), capture_output=True, text=True,
                          check=True).stdout.strip()
    task_id = poster.post(tiny_spec(verification={"mode": "exact", "arithmetic": here}))
    worker = make_worker(device="cpu")
    drive(worker, lambda: poster.market.get_task(task_id).status != TaskStatus.OPEN)
    assert poster.market.get_task(task_id).worker == worker.account
