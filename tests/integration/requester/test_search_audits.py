"""A search on TaskMarket v2 gets back the verification fee no auditor earned: it closes each
finished task's audit once the contract allows it (the result final, its auditors' reveal period
over), books the refund in the requester's ledger once, and reports its spend net of it. A real
anvil with a v2 market of a short reveal period (so the wall clock, not a time jump, opens each
audit's close; an idle block is mined every second, as the devnet does every 5 s, since contracts
read the latest block's time), the real blob server and history, and a real CPU worker that
trains, submits and finalizes every candidate. No verifier is registered, so no auditor is drawn
and the whole fee comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from engine.chain.anvil import Anvil
from engine.chain.devnet import deploy_market_v2
from engine.chain.market_v2 import TaskMarketV2, verification_fee
from engine.chain.records_v2 import AuditClosed, TaskStatusV2
from engine.history import History, LedgerKind
from engine.requester import Requester
from engine.search.chainport import ChainMarket
from engine.search.coordinator import Coordinator, SearchConfig
from engine.search.port import Terms
from engine.search.results import build_report
from engine.search.state import SearchState
from engine.storage import BlobServer, HttpStore, LocalStore
from engine.worker import Worker
from tests.integration.requester.test_search_versions import run_search, tiny_space
from tests.integration.worker.test_v2_happy_path import cpu_worker

BUDGET = 2
REVEAL_PERIOD = 3
TERMS = Terms(reward=10**16, window=2)
CONFIG = SearchConfig(budget=BUDGET, parallel=2, population=2, sample=1, poll_s=0.0, audit_retry_s=0.2)
TIMEOUT_S = 120.0


@pytest.fixture
def short_reveal(chain: Web3, anvil_node: Anvil,
                 accounts: list[LocalAccount]) -> Callable[[LocalAccount], TaskMarketV2]:
    """Clients of a v2 market whose auditors may reveal for REVEAL_PERIOD seconds after a
    result's window (the devnet's 600 s would make the test wait ten minutes)."""
    d = deploy_market_v2(chain, accounts[0], rpc_url=anvil_node.url,
                         constructor={"revealPeriod": REVEAL_PERIOD})

    def make(account: LocalAccount) -> TaskMarketV2:
        return TaskMarketV2(chain, d.market_address, account, deploy_block=d.deploy_block)

    return make


def searcher(market: TaskMarketV2, store: HttpStore, history: History, tmp_path: Path) -> Coordinator:
    """A coordinator on the search folder in ``tmp_path`` (a new one on the same folder and
    history is the same search restarted)."""
    requester = Requester(market, store, history, local=LocalStore(tmp_path / "local-blobs"))
    return Coordinator(tiny_space(tmp_path), SearchState(tmp_path / "search" / "search.sqlite3"),
                       ChainMarket(requester, tmp_path / "search"), CONFIG, TERMS)


def refunds_booked(history: History, market: TaskMarketV2) -> int:
    chain_id = market.sender_or_fail().chain_id
    return history.earnings(chain_id, market.address).by_kind.get(LedgerKind.REFUND.value, 0)


def until(what: str, done: Callable[[], bool], *actors: Callable[[], object],
          where: Callable[[], object] = lambda: "") -> None:
    """Turn ``actors`` until ``done`` (a condition on the chain or the state, never a time);
    ``where`` says how far it got when it fails."""
    deadline = time.monotonic() + TIMEOUT_S
    while not done():
        assert time.monotonic() < deadline, f"{what}: not after {TIMEOUT_S} s; {where()}"
        acted = [bool(act()) for act in actors]              # each actor every round: no short cut
        if not any(acted):
            time.sleep(0.05)


def idle_blocks(market: TaskMarketV2) -> Callable[[], bool]:
    """What `idlegrid devnet` does for a chain that mines only on transactions: an empty block
    when the latest is old, so windows and reveal periods end on a quiet chain too."""
    def tick() -> bool:
        if time.time() - market.clock.latest() < 1:
            return False
        market.clock.mine()
        return True

    return tick


def finalized_and_revealed(market: TaskMarketV2, task_ids: list[int]) -> Callable[[], bool]:
    """Every task final and past its reveal period (by the latest block's time)."""
    def check() -> bool:
        tasks = [market.get_task(t) for t in task_ids]
        now = market.clock.latest()                               # what closeAudit's estimate reads
        return all(t.status == TaskStatusV2.FINALIZED and now > t.deadline + REVEAL_PERIOD for t in tasks)

    return check


def where(c: Coordinator, market: TaskMarketV2) -> str:
    tasks = [market.get_task(t.task_id) for t in c.state.tasks()]
    return (f"credits {market.credits(market.sender_or_fail().address)}, audits open {c.audits_open()}, "
            f"tasks {[(t.task_id, t.status.name, t.deadline) for t in tasks]}, "
            f"next block at {market.clock.next_block_time()}, now {time.time():.0f}")


def check_net_spend(c: Coordinator, market: TaskMarketV2, history: History, fee: int) -> None:
    """Each task's unearned fee credited back, booked once, and out of the spend."""
    tasks = c.state.tasks()
    assert len(tasks) == BUDGET
    me = market.sender_or_fail().address
    assert market.credits(me) == BUDGET * fee                    # the chain's word
    assert refunds_booked(history, market) == BUDGET * fee       # the ledger's: once per task
    assert all(t.refund == fee for t in tasks)
    assert c.progress().spent_wei == sum(t.reward + t.gas for t in tasks) - BUDGET * fee
    assert build_report(c.space, c.state).totals()["cost_wei"] == c.progress().spent_wei
    assert c.audits_open() == []
    for t in tasks:
        assert len(market.task_events(AuditClosed, t.task_id)) == 1


def test_a_v2_search_closes_each_audit_and_reports_its_spend_net_of_the_fee(
        short_reveal: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount],
        blob_server: BlobServer, history: History, tmp_path: Path) -> None:
    market = short_reveal(accounts[1])
    store = HttpStore(blob_server.url)
    c = searcher(market, store, history, tmp_path)
    worker: Worker = cpu_worker(short_reveal(accounts[2]), store, history, tmp_path / "worker")
    run_search(c, worker, TIMEOUT_S)
    tasks = c.state.tasks()
    fee = verification_fee(tasks[0].reward, market.params().audit_fee_bps)
    assert fee > 0 and market.credits(market.sender_or_fail().address) == 0
    assert sorted(task_id for task_id, _ in c.audits_open()) == [t.task_id for t in tasks]  # what the CLI says

    # the search keeps turning while the worker finalizes; each audit closes once it may
    until("the unearned fees credited back",
          lambda: market.credits(market.sender_or_fail().address) == BUDGET * fee and not c.audits_open(),
          c.turn, worker.step, idle_blocks(market), where=lambda: where(c, market))
    check_net_spend(c, market, history, fee)

    spent = c.progress().spent_wei
    c.state.close()
    again = searcher(market, store, history, tmp_path)             # run again: nothing closed or booked twice
    again.resume()
    assert again.finished() and again.progress().spent_wei == spent
    check_net_spend(again, market, history, fee)
    assert history.journal_open() == []
    again.state.close()


def test_a_close_sent_before_a_crash_is_booked_once_on_restart(
        short_reveal: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount],
        blob_server: BlobServer, history: History, tmp_path: Path) -> None:
    """The search sent one task's closeAudit and died before it heard back: nothing booked, the
    journal entry open. On restart the journal's receipt books that refund, the search finds the
    audit closed (the contract would refuse a second close) and records it, and closes the other."""
    market = short_reveal(accounts[1])
    store = HttpStore(blob_server.url)
    c = searcher(market, store, history, tmp_path)
    worker: Worker = cpu_worker(short_reveal(accounts[2]), store, history, tmp_path / "worker")
    run_search(c, worker, TIMEOUT_S)
    ids = [t.task_id for t in c.state.tasks()]
    fee = verification_fee(c.state.tasks()[0].reward, market.params().audit_fee_bps)
    until("the results final and their reveal periods over", finalized_and_revealed(market, ids), worker.step,
          idle_blocks(market))

    requester = c.market.requester  # type: ignore[attr-defined]
    key = requester.journal.key(str(ids[0]), "close-audit")      # what Requester.close_audit journals
    history.journal_begin(key, "close-audit", {"task_id": ids[0], "role": "requester", "account": requester.address})
    prepared = market.close_audit(ids[0]).prepare()
    history.journal_update(key, tx=prepared.to_json(), replacements=[])
    market.sender_or_fail().broadcast(prepared)
    c.state.close()                                                # killed: the search never heard back
    until("the crashed close mined", lambda: market.credits(requester.address) == fee)
    assert refunds_booked(history, market) == 0

    restarted = searcher(market, store, history, tmp_path)
    restarted.resume()
    until("the other audit closed", lambda: not restarted.audits_open(), restarted.turn, idle_blocks(market))
    check_net_spend(restarted, market, history, fee)
    assert history.journal_open() == []
    restarted.state.close()
