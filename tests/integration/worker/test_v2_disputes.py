"""v2 disputes in the worker's ledger, on a real anvil with the real worker, blob server, runner
and SQLite history; challengers and jurors are driven through the bindings.

A result can see several disputes on v2. Each one the jury decides for the worker credits it
the challenger's bond less the jurors' cut (booked once, under its ``resolve`` tx, to the wei of
the chain's credits); a void dispute gives the stake back and reopens the task (returned, not
earned, and never also slashed); a "cheat" verdict among several disputes is slashed once."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from engine.chain.anvil import time_travel
from engine.chain.devnet import fund
from engine.chain.market import ETHER
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, payment_for
from engine.chain.records_v2 import (
    DisputeResolved,
    DisputeStatus,
    JuryRedrawn,
    ResultSubmitted,
    TaskPosted,
    TaskStatusV2,
)
from engine.commit.merkle import MerkleTree
from engine.history import History
from engine.roles.results import ResultManifest, parse_blob_uri
from engine.storage import HttpStore
from engine.tasks.load import canonical_json, check, parse
from engine.worker import PAID, ROLE, Worker
from tests.integration.chain_v2 import steps
from tests.integration.worker.helpers import REWARD, STAKE, WINDOW, drive, events_of, tiny_spec
from tests.integration.worker.test_v2_happy_path import cpu_worker

BPS = 10_000
# an odd stake (and so bond): the jurors' shares leave dust, which goes to the winner
ODD_STAKE = STAKE + 5


@pytest.fixture
def verifiers(chain, v2_for) -> list[TaskMarketV2]:
    """Seven funded verifiers beyond anvil's ten, registered with 1 ETH each (fines for silence
    never push one out of the draws) in an epoch already over: their stakes weigh in every jury."""
    wallets = [Account.from_key(keccak(text=f"idlegrid worker v2 dispute juror {i}")) for i in range(7)]
    fund(chain, [w.address for w in wallets])
    clients = [v2_for(w) for w in wallets]
    for v in clients:
        v.register_verifier(ETHER).send()
    steps.next_epoch(clients[0])
    return clients


def result_tree(market: TaskMarketV2, store: HttpStore, task_id: int) -> MerkleTree:
    """The worker's committed result, read back from its manifest as a challenger would."""
    (submitted,) = events_of(market, ResultSubmitted, task_id)
    manifest = ResultManifest.from_bytes(store.get_bytes(parse_blob_uri(submitted.result_uri)))
    return MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in manifest.leaves])


def judge(market: TaskMarketV2, verifiers: list[TaskMarketV2], dispute_id: int, votes: list[bool | None]) -> None:
    """Draw the jury and have its jurors vote ``votes`` in order (None: silent)."""
    by_address = {v.sender_or_fail().address: v for v in verifiers}
    jurors = [by_address[a] for a in steps.draw(market, dispute_id)]
    if any(v is not None for v in votes):
        steps.vote(dict(zip(jurors, votes, strict=True)), dispute_id)
    else:  # a jury that never shows up: its periods just pass
        params = market.params()
        time_travel(market.w3, params.commit_period + params.reveal_period + 2)


def resolve(market: TaskMarketV2, dispute_id: int) -> DisputeResolved:
    return steps.one(market, market.resolve(dispute_id).send(), DisputeResolved)


def ledger(history: History, task_id: int) -> list[tuple[str, int, str | None]]:
    """The task's ledger rows, read straight from the SQLite file: (kind, wei, tx hash)."""
    with sqlite3.connect(history.path) as conn:
        rows = conn.execute("SELECT kind, amount, tx_hash FROM ledger WHERE task_id = ? ORDER BY id", (task_id,))
        return [(kind, int(amount), tx) for kind, amount, tx in rows]


def kinds(rows: list[tuple[str, int, str | None]], kind: str) -> list[tuple[int, str | None]]:
    return [(amount, tx) for k, amount, tx in rows if k == kind]


def started(v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], store: HttpStore,
            history: History, tmp_path: Path) -> tuple[TaskMarketV2, TaskMarketV2, Worker, int]:
    """requester, worker client, the worker, and a task whose honest result is committed."""
    requester, market = v2_for(accounts[0]), v2_for(accounts[1])
    raw = canonical_json(check(parse(tiny_spec())).spec)
    receipt = requester.post_task(hashlib.sha256(raw).digest(), f"blob:{store.put_bytes(raw)}",
                                  payment=payment_for(REWARD, DEVNET_PARAMS_V2["auditFeeBps"]),
                                  worker_stake=ODD_STAKE, claim_timeout=3600, train_timeout=7200,
                                  challenge_window=WINDOW).send()
    task_id = steps.one(requester, receipt, TaskPosted).task_id
    worker = cpu_worker(market, store, history, tmp_path)
    drive(worker, lambda: market.get_task(task_id).status == TaskStatusV2.SUBMITTED)
    return requester, market, worker, task_id


def test_a_dispute_the_worker_wins_is_credited_once_to_the_wei_then_finalize_pays_the_reward(
        v2_for, accounts, store: HttpStore, history: History, chain, tmp_path: Path, verifiers) -> None:
    requester, market, worker, task_id = started(v2_for, accounts, store, history, tmp_path)
    me, challenger = accounts[1].address, v2_for(accounts[3])
    bond = challenger.challenge_bond(task_id)
    dispute_id = steps.challenge(challenger, task_id, result_tree(market, store, task_id), segment=2)
    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "challenged")

    judge(requester, verifiers, dispute_id, [True, True, True, True, False])  # one wrong vote, fined
    resolved = resolve(requester, dispute_id)
    params = requester.params()
    assert (bond, resolved.outcome, resolved.slashed) == (ODD_STAKE, DisputeStatus.WORKER_WON, bond)
    pool = bond * params.juror_reward_bps // BPS + params.wrong_vote_penalty
    won = bond - bond * params.juror_reward_bps // BPS + pool - 4 * (pool // 4)
    assert pool % 4 and market.credits(me) == won   # the bond less the jurors' cut, with the dust

    drive(worker, lambda: bool(kinds(ledger(history, task_id), "reward")))
    assert kinds(ledger(history, task_id), "reward") == [(won, resolved.tx_hash)]
    job = history.job(worker.chain_id, market.address, task_id, ROLE)
    assert job.state == "accepted" and job.detail["disputes_won"] == {str(dispute_id): str(won)}
    assert history.earnings(worker.chain_id, market.address).claimable == market.credits(me)

    # a crash after the ledger row, before the job row said so: a restart books nothing twice
    history.upsert_job(worker.chain_id, market.address, task_id, ROLE, state="challenged",
                       detail={"disputes_won": {}})
    again = cpu_worker(market, store, history, tmp_path)
    drive(again, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "accepted")
    assert kinds(ledger(history, task_id), "reward") == [(won, resolved.tx_hash)]

    steps.pass_window(market)
    drive(again, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == PAID)
    rows = ledger(history, task_id)
    assert sorted(a for a, _ in kinds(rows, "reward")) == sorted([won, REWARD])
    assert kinds(rows, "stake_returned")[0][0] == ODD_STAKE and not kinds(rows, "slashed")
    assert market.credits(me) == won + REWARD + ODD_STAKE
    earnings = history.earnings(worker.chain_id, market.address)
    assert (earnings.claimable, earnings.earned) == (market.credits(me), won + REWARD)
    assert history.job(worker.chain_id, market.address, task_id, ROLE).outcome == "paid"


def test_two_disputes_won_on_one_result_are_each_credited_under_their_own_resolve(
        v2_for, accounts, store: HttpStore, history: History, chain, tmp_path: Path, verifiers) -> None:
    """A result stays challengeable after a win: two challengers, two juries, two credits."""
    requester, market, worker, task_id = started(v2_for, accounts, store, history, tmp_path)
    me, first, second = accounts[1].address, v2_for(accounts[3]), v2_for(accounts[4])
    tree = result_tree(market, store, task_id)
    one = steps.challenge(first, task_id, tree, segment=1)
    two = steps.challenge(second, task_id, tree, segment=3)
    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "challenged")

    judge(requester, verifiers, one, [True] * 5)
    won_one = resolve(requester, one)
    credit_one = market.credits(me)
    drive(worker, lambda: len(kinds(ledger(history, task_id), "reward")) == 1)
    assert history.job(worker.chain_id, market.address, task_id, ROLE).state == "challenged"  # two is open

    judge(requester, verifiers, two, [True, True, True, None, False])  # a silent juror and a wrong vote
    won_two = resolve(requester, two)
    credit_two = market.credits(me) - credit_one
    drive(worker, lambda: len(kinds(ledger(history, task_id), "reward")) == 2)
    assert kinds(ledger(history, task_id), "reward") == [(credit_one, won_one.tx_hash), (credit_two, won_two.tx_hash)]
    assert history.job(worker.chain_id, market.address, task_id, ROLE).state == "accepted"
    assert history.earnings(worker.chain_id, market.address).claimable == market.credits(me)

    time_left = market.get_task(task_id).deadline - market.clock.latest()
    if time_left > 0:
        time_travel(chain, time_left + 1)
    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == PAID)
    assert market.credits(me) == credit_one + credit_two + REWARD + ODD_STAKE
    assert history.earnings(worker.chain_id, market.address).claimable == market.credits(me)
    assert history.earnings(worker.chain_id, market.address).earned == credit_one + credit_two + REWARD


def test_a_void_dispute_returns_the_stake_once_books_no_slash_and_keeps_an_earlier_win(
        v2_for, accounts, store: HttpStore, history: History, chain, tmp_path: Path, verifiers) -> None:
    """Dispute one is won; dispute two gets no verdict from maxDraws juries (all silent): the
    bond and the stake go back, the task reopens. The worker's ledger: the win, the stake
    returned (not earned), nothing slashed; the job ends "void"."""
    requester, market, worker, task_id = started(v2_for, accounts, store, history, tmp_path)
    me, first, second = accounts[1].address, v2_for(accounts[3]), v2_for(accounts[4])
    tree = result_tree(market, store, task_id)
    one = steps.challenge(first, task_id, tree, segment=1)
    two = steps.challenge(second, task_id, tree, segment=3)
    judge(requester, verifiers, one, [True] * 5)
    won = resolve(requester, one)
    credit_one = market.credits(me)

    max_draws = requester.params().max_draws
    for draw in range(1, max_draws + 1):
        judge(requester, verifiers, two, [None] * 5)
        receipt = requester.resolve(two).send()
        redrawn = [e for e in requester.events_in(receipt) if isinstance(e, JuryRedrawn)]
        assert bool(redrawn) == (draw < max_draws)
    (void,) = [e for e in events_of(requester, DisputeResolved, task_id) if e.dispute_id == two]
    assert void.outcome == DisputeStatus.VOID
    assert market.get_task(task_id).status == TaskStatusV2.OPEN
    assert market.credits(me) == credit_one + ODD_STAKE

    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "void")
    rows = ledger(history, task_id)
    assert kinds(rows, "reward") == [(credit_one, won.tx_hash)]
    assert kinds(rows, "stake_returned") == [(ODD_STAKE, void.tx_hash)]
    assert not kinds(rows, "slashed")
    job = history.job(worker.chain_id, market.address, task_id, ROLE)
    assert job.outcome == "void" and job.finished_at
    earnings = history.earnings(worker.chain_id, market.address)
    assert (earnings.claimable, earnings.earned, earnings.slashed) == (market.credits(me), credit_one, 0)
    for _ in range(3):
        worker.step()
    assert ledger(history, task_id) == rows  # nothing more to book


def test_a_cheat_verdict_among_several_disputes_is_slashed_once_and_voids_the_rest_for_nothing(
        v2_for, accounts, store: HttpStore, history: History, chain, tmp_path: Path, verifiers) -> None:
    """Three disputes on one result: one won, one decided "cheat" (the jurors are wrong, as a
    bribed jury would be), the third then void with nothing for the worker. The worker books the
    win, the stake slashed once under the cheat verdict's tx, and no stake returned."""
    requester, market, worker, task_id = started(v2_for, accounts, store, history, tmp_path)
    me = accounts[1].address
    tree = result_tree(market, store, task_id)
    ids = [steps.challenge(v2_for(accounts[i]), task_id, tree, segment=s) for i, s in ((3, 1), (4, 2), (5, 3))]
    judge(requester, verifiers, ids[0], [True] * 5)
    won = resolve(requester, ids[0])
    credit_one = market.credits(me)
    judge(requester, verifiers, ids[1], [False] * 5)
    cheat = resolve(requester, ids[1])
    assert cheat.outcome == DisputeStatus.CHALLENGER_WON and market.get_task(task_id).status == TaskStatusV2.OPEN

    drive(worker, lambda: history.job(worker.chain_id, market.address, task_id, ROLE).state == "slashed")
    void = resolve(requester, ids[2])  # replaced result: void at once, the bond back, nothing to the worker
    assert void.outcome == DisputeStatus.VOID and market.credits(me) == credit_one
    for _ in range(3):
        worker.step()
    rows = ledger(history, task_id)
    assert kinds(rows, "reward") == [(credit_one, won.tx_hash)]
    assert kinds(rows, "slashed") == [(ODD_STAKE, cheat.tx_hash)]
    assert not kinds(rows, "stake_returned")
    earnings = history.earnings(worker.chain_id, market.address)
    assert (earnings.claimable, earnings.slashed) == (market.credits(me), ODD_STAKE)
