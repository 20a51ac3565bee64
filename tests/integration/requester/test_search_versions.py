"""The search coordinator runs candidates to completion on either TaskMarket: a real anvil with
v1 or v2 deployed, the real blob server and history, and a real CPU worker that claims, trains
and submits each candidate. v2 logs its steps as other classes (TaskClaimed without a deadline,
DisputeResolved with an outcome), so a coordinator reading v1's classes never sees a v2 result."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.anvil import time_travel
from engine.chain.devnet import Deployment
from engine.chain.market import TaskMarket
from engine.chain.market_v2 import TaskMarketV2, payment_for
from engine.chain.records_v2 import DataDemanded, TaskStatusV2
from engine.history import History
from engine.requester import Requester
from engine.search.chainport import ChainMarket
from engine.search.coordinator import Coordinator, SearchConfig
from engine.search.load import load_space
from engine.search.port import Terms
from engine.search.space import SearchSpace
from engine.search.state import CandidateState, SearchState, TaskState
from engine.storage import BlobServer, HttpStore, LocalStore
from engine.worker import Worker
from tests.integration.worker.test_v2_happy_path import cpu_worker
from tests.unit.search.spaces import SPACES

BUDGET = 2
TERMS = Terms(reward=10**16, window=60)
Market = TaskMarket | TaskMarketV2


@pytest.fixture(params=["v1", "v2"])
def market_of(request: pytest.FixtureRequest, deployment: Deployment,
              deployment_v2: Deployment) -> Callable[[LocalAccount], Market]:
    """A client factory for a market of each version (the chain fixtures' own deployments, both
    named here so that they are deployed before ``chain`` takes the snapshot it reverts to)."""
    name = "market_for" if request.param == "v1" else "v2_for"
    factory: Callable[[LocalAccount], Market] = request.getfixturevalue(name)
    return factory


def tiny_space(root: Path) -> SearchSpace:
    """The shipped digits space cut to 20 steps per candidate (a blink of training each)."""
    space = json.loads((SPACES / "digits.json").read_text())
    space["base"].update(steps=20, checkpoint_every=10, schedule={"kind": "constant"})
    path = root / "space.json"
    path.write_text(json.dumps(space))
    return load_space(path)


def run_search(c: Coordinator, worker: Worker, timeout: float = 300.0) -> None:
    """Coordinator and worker turn by turn in this thread until the search is over."""
    c.resume()
    finish(c, worker, timeout)


def finish(c: Coordinator, worker: Worker, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not c.finished():
        assert time.monotonic() < deadline, f"search not finished: {c.progress()}; worker: {worker.status()}"
        acted = c.turn()
        if not worker.step() and not acted:
            time.sleep(0.05)


def test_a_search_runs_its_candidates_to_completion_with_a_real_worker(
        market_of: Callable[[LocalAccount], Market], accounts: list[LocalAccount], blob_server: BlobServer,
        history: History, tmp_path: Path) -> None:
    market = market_of(accounts[1])
    store = HttpStore(blob_server.url)
    requester = Requester(market, store, history, local=LocalStore(tmp_path / "local-blobs"))
    state = SearchState(tmp_path / "search" / "search.sqlite3")
    c = Coordinator(tiny_space(tmp_path), state, ChainMarket(requester, tmp_path / "search"),
                    SearchConfig(budget=BUDGET, parallel=2, population=2, sample=1, poll_s=0.0), TERMS)
    worker = cpu_worker(market_of(accounts[2]), store, history, tmp_path / "worker")  # type: ignore[arg-type]
    run_search(c, worker)

    rows = state.candidates()
    assert len(rows) == BUDGET
    assert all(r.state == CandidateState.DONE and r.value is not None for r in rows)
    assert all(r.worker is not None and r.worker.lower() == accounts[2].address.lower() for r in rows)
    tasks = state.tasks()
    assert len(tasks) == BUDGET and all(t.state == TaskState.SUBMITTED for t in tasks)
    # the task reached CLAIMED with the deadline the chain gives (v2's event has none: computed)
    for t in tasks:
        assert t.submit_deadline is not None and t.submit_deadline > t.claim_deadline - TERMS.claim_timeout
    # the escrow counted in the spend is what left the wallet: on v2 the reward plus the verification fee
    escrow = (TERMS.reward if isinstance(market, TaskMarket)
              else payment_for(TERMS.reward, market.params().audit_fee_bps))
    assert all(t.reward == escrow for t in tasks)
    assert c.progress().spent_wei == sum(t.reward + t.gas for t in tasks)
    state.close()


def test_a_result_the_v2_market_drops_for_a_data_fault_is_forgotten_and_evaluated_again(
        v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], blob_server: BlobServer,
        history: History, chain, tmp_path: Path) -> None:
    """A verifier demands a checkpoint of a finished candidate's result; its worker never answers,
    the fault reopens the task (no DisputeResolved on v2: a TaskReopened alone). The search must
    not keep the dropped result's value: the candidate goes back on the market and is trained
    again by another worker."""
    market = v2_for(accounts[1])
    store = HttpStore(blob_server.url)
    requester = Requester(market, store, history, local=LocalStore(tmp_path / "local-blobs"))
    state = SearchState(tmp_path / "search" / "search.sqlite3")
    c = Coordinator(tiny_space(tmp_path), state, ChainMarket(requester, tmp_path / "search"),
                    SearchConfig(budget=BUDGET, parallel=2, population=2, sample=1, poll_s=0.0),
                    Terms(reward=10**16, window=3600))
    run_search(c, cpu_worker(v2_for(accounts[2]), store, history, tmp_path / "worker"))
    faulted = state.tasks()[0]

    demander = v2_for(accounts[3])
    receipt = demander.demand_data(faulted.task_id, 1).send()
    (demanded,) = [e for e in demander.events_in(receipt) if isinstance(e, DataDemanded)]
    time_travel(chain, demander.params().response_period + 1)
    demander.claim_data_fault(demanded.demand_id).send()
    assert market.get_task(faulted.task_id).status == TaskStatusV2.OPEN

    c.turn()
    row = state.candidate(faulted.candidate_id)
    assert row.state == CandidateState.POSTED and row.value is None
    assert not c.finished() and c.progress().done == BUDGET - 1
    with History.open(tmp_path / "worker-2.sqlite3") as other:      # another machine: its own history
        finish(c, cpu_worker(v2_for(accounts[4]), store, other, tmp_path / "worker-2"))
    row = state.candidate(faulted.candidate_id)
    assert row.state == CandidateState.DONE and row.worker is not None
    assert row.worker.lower() == accounts[4].address.lower()
    state.close()
