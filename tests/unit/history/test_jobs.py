"""Jobs: upsert, transactions, listing, wei beyond int64, and refusal of wrong values."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.history import History, InvalidRecord, jobs
from tests.unit.history.conftest import CHAIN, MARKET, OTHER_MARKET

BIG = 2**64 + 12345  # past SQLite's int64 and exact float range


def test_upsert_creates_then_updates_only_the_given_fields(history: History) -> None:
    created = history.upsert_job(CHAIN, MARKET, 7, "worker", name="digits-mlp", spec_sha256="ab" * 32,
                                 state="claimed", steps=600, reward=10**17, stake=10**16, started_at=100.0)
    assert created.state == "claimed" and created.created_at > 0 and created.updated_at >= created.created_at
    updated = history.upsert_job(CHAIN, MARKET, 7, "worker", state="submitted", steps_done=600, loss=0.0385,
                                 metrics={"accuracy": 0.98}, merkle_root="0x" + "11" * 32)
    assert updated.name == "digits-mlp" and updated.reward == 10**17 and updated.started_at == 100.0
    assert (updated.state, updated.steps_done, updated.loss) == ("submitted", 600, 0.0385)
    assert updated.metrics == {"accuracy": 0.98}
    assert updated.created_at == created.created_at
    assert history.job(CHAIN, MARKET, 7, "worker") == updated


def test_a_new_job_without_a_state_is_new(history: History) -> None:
    assert history.upsert_job(CHAIN, MARKET, 1, "verifier").state == "new"


def test_detail_merges_key_by_key(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 1, "requester", detail={"requester": "0xabc", "posted_block": 5})
    job = history.upsert_job(CHAIN, MARKET, 1, "requester", detail={"posted_block": 6, "note": "x"})
    assert job.detail == {"requester": "0xabc", "posted_block": 6, "note": "x"}


def test_roles_of_one_task_are_separate_rows(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 1, "requester", state="open")
    history.upsert_job(CHAIN, MARKET, 1, "worker", state="claimed")
    assert {j.role: j.state for j in history.jobs()} == {"requester": "open", "worker": "claimed"}


def test_market_spelling_does_not_split_a_job(history: History) -> None:
    history.upsert_job(CHAIN, MARKET.lower(), 1, "worker", state="claimed")
    job = history.upsert_job(CHAIN, MARKET.upper().replace("0X", "0x"), 1, "worker", state="submitted")
    assert job.market == MARKET and len(history.jobs()) == 1


def test_wei_beyond_int64_round_trips_exactly(history: History, db_path: Path) -> None:
    job = history.upsert_job(CHAIN, MARKET, 1, "worker", reward=BIG, stake=BIG + 1)
    history.record_tx(CHAIN, MARKET, 1, "worker", "claim", "0x01", BIG)
    history.record_tx(CHAIN, MARKET, 1, "worker", "commit", "0x02", BIG)
    job = history.job(CHAIN, MARKET, 1, "worker")
    assert job is not None
    assert (job.reward, job.stake, job.gas_paid) == (BIG, BIG + 1, 2 * BIG)
    conn = sqlite3.connect(db_path)
    stored = conn.execute("SELECT reward, typeof(reward) FROM jobs").fetchone()
    conn.close()
    assert stored == (str(BIG), "text")


def test_record_tx_adds_gas_and_hash_once_per_transaction(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 4, "worker", state="claimed")
    history.record_tx(CHAIN, MARKET, 4, "worker", "claim", "0xaa", 21_000)
    history.record_tx(CHAIN, MARKET, 4, "worker", "claim", "0xaa", 21_000)  # replayed after a crash
    history.record_tx(CHAIN, MARKET, 4, "worker", "commit", "0xbb", 50_000)
    job = history.job(CHAIN, MARKET, 4, "worker")
    assert job is not None and job.gas_paid == 71_000
    assert job.txs == {"claim": "0xaa", "commit": "0xbb"}
    assert history.earnings(CHAIN, MARKET).gas_paid == 71_000


def test_record_tx_on_an_unknown_job_creates_it(history: History) -> None:
    history.record_tx(CHAIN, MARKET, 9, "verifier", "challenge", "0xcc", 5)
    job = history.job(CHAIN, MARKET, 9, "verifier")
    assert job is not None and job.state == "new" and job.txs == {"challenge": "0xcc"} and job.gas_paid == 5


def test_a_missing_job_is_none(history: History) -> None:
    assert history.job(CHAIN, MARKET, 404, "worker") is None


def test_jobs_are_listed_newest_first_and_filtered(history: History) -> None:
    for task, (role, state, name) in enumerate(
        [
            ("worker", "finalized", "digits-mlp"),
            ("worker", "claimed", "tiny-charlm"),
            ("verifier", "finalized", "digits-mlp"),
            ("requester", "open", "cifar_10%"),
        ],
        start=1,
    ):
        history.upsert_job(CHAIN, MARKET, task, role, state=state, name=name, updated_at=1000.0 + task)
    assert [j.task_id for j in history.jobs()] == [4, 3, 2, 1]
    assert [j.task_id for j in history.jobs(role="worker")] == [2, 1]
    assert [j.task_id for j in history.jobs(state="finalized")] == [3, 1]
    assert [j.task_id for j in history.jobs(role="worker", state="finalized")] == [1]
    assert [j.task_id for j in history.jobs(search="DIGITS")] == [3, 1]
    assert [j.task_id for j in history.jobs(search="2")] == [2]  # an exact task id
    assert [j.task_id for j in history.jobs(search="_10%")] == [4]  # LIKE wildcards are literal
    assert [j.task_id for j in history.jobs(search="0%")] == [4]
    assert len(history.jobs(limit=2)) == 2


def test_jobs_filter_by_network_and_a_set_of_states(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 1, "worker", state="committed")
    history.upsert_job(CHAIN, MARKET, 2, "worker", state="paid")
    history.upsert_job(CHAIN, MARKET, 3, "worker", state="training")
    history.upsert_job(CHAIN, OTHER_MARKET, 4, "worker", state="committed")
    history.upsert_job(5, MARKET, 5, "worker", state="committed")
    mine = history.jobs(chain_id=CHAIN, market=MARKET.lower(), states=("committed", "training"))
    assert sorted(j.task_id for j in mine) == [1, 3]
    assert [j.task_id for j in history.jobs(market=OTHER_MARKET)] == [4]
    assert sorted(j.task_id for j in history.jobs(chain_id=CHAIN, states="committed")) == [1, 4]
    assert history.jobs(states=()) == []


@pytest.mark.parametrize(
    ("filters", "walk"),
    [
        ({}, "SCAN jobs USING INDEX jobs_by_updated"),
        ({"role": "worker"}, "SEARCH jobs USING INDEX jobs_by_role (role=?)"),
        ({"state": "claimed"}, "SEARCH jobs USING INDEX jobs_by_state (state=?)"),
    ],
)
def test_listing_walks_an_index_without_sorting(history: History, db_path: Path, filters: dict, walk: str) -> None:
    """The GUI re-reads the list on every change: it must not scan and sort the whole table."""
    sql, params = jobs.query(**filters)
    conn = sqlite3.connect(db_path)
    plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    conn.close()
    assert walk in plan and "TEMP B-TREE" not in plan, plan


def test_networks_lists_every_chain_and_market(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 1, "worker")
    history.add_ledger(5, OTHER_MARKET, None, "withdrawn", 3)
    assert history.networks() == [(5, OTHER_MARKET), (CHAIN, MARKET)]


@pytest.mark.parametrize(("fields", "message"), [
    ({"rewrad": 1}, "unknown job field(s): rewrad"),
    ({"reward": 0.1}, "reward must be an int number of wei, not float"),
    ({"stake": -1}, "stake must not be negative"),
    ({"steps": "600"}, "job field steps got str"),
    ({"loss": "low"}, "job field loss got str"),
    ({"state": None}, "job field state cannot be None"),
    ({"metrics": [1, 2]}, "metrics must be a dict"),
    ({"detail": {"f": object()}}, "detail cannot be stored as JSON"),
    ({"gas_paid": 5}, "gas_paid cannot be set directly"),
])
def test_wrong_fields_are_refused_with_the_field_named(history: History, fields: dict, message: str) -> None:
    with pytest.raises(InvalidRecord, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        history.upsert_job(CHAIN, MARKET, 1, "worker", **fields)
    assert caught.value.exit_code == 2
    assert history.job(CHAIN, MARKET, 1, "worker") is None


@pytest.mark.parametrize(("key", "message"), [
    ((0, MARKET, 1, "worker"), "chain id 0"),
    ((CHAIN, "0xMarket", 1, "worker"), "is not a contract address"),
    ((CHAIN, MARKET, -1, "worker"), "task id -1"),
    ((CHAIN, MARKET, 1, "miner"), "role 'miner' is not one of worker, verifier, requester"),
])
def test_wrong_keys_are_refused(history: History, key: tuple, message: str) -> None:
    with pytest.raises(InvalidRecord, match=message):
        history.upsert_job(*key, state="x")


def test_a_bad_limit_is_refused(history: History) -> None:
    with pytest.raises(InvalidRecord, match="limit must be a positive int"):
        history.jobs(limit=0)
