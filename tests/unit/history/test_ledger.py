"""Earnings: pending, claimable (ledger or chain), withdrawn, slashed, gas, per day."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from engine.history import History, InvalidRecord
from tests.unit.history.conftest import CHAIN, MARKET, OTHER_MARKET

ETH = 10**18


def _noon(days_ago: int) -> float:
    day = date.today() - timedelta(days=days_ago)
    return datetime.combine(day, datetime.min.time()).timestamp() + 12 * 3600


def test_pending_is_reward_and_stake_of_committed_unfinalized_worker_jobs(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 1, "worker", state="submitted", reward=ETH, stake=ETH // 10)
    history.upsert_job(CHAIN, MARKET, 2, "worker", state="challenged", reward=2 * ETH, stake=ETH // 5)
    history.upsert_job(CHAIN, MARKET, 3, "worker", state="claimed", reward=5 * ETH, stake=ETH)      # not committed
    history.upsert_job(CHAIN, MARKET, 4, "worker", state="finalized", reward=7 * ETH, stake=ETH)    # paid already
    history.upsert_job(CHAIN, MARKET, 5, "verifier", state="submitted", reward=9 * ETH, stake=ETH)  # not ours to earn
    history.upsert_job(CHAIN, OTHER_MARKET, 1, "worker", state="submitted", reward=9 * ETH, stake=ETH)
    assert history.earnings(CHAIN, MARKET).pending == 3 * ETH + 3 * ETH // 10


def test_totals_come_from_the_ledger(history: History) -> None:
    history.add_ledger(CHAIN, MARKET, 1, "reward", ETH, tx_hash="0x01")
    history.add_ledger(CHAIN, MARKET, 1, "stake_returned", ETH // 10, tx_hash="0x01")
    history.add_ledger(CHAIN, MARKET, 2, "juror_reward", ETH // 100)
    history.add_ledger(CHAIN, MARKET, 3, "slashed", ETH // 2)
    history.add_ledger(CHAIN, MARKET, None, "withdrawn", ETH // 2, tx_hash="0x02")
    history.add_ledger(CHAIN, MARKET, 1, "gas", 123, tx_hash="0x01")
    history.add_ledger(CHAIN, OTHER_MARKET, 1, "reward", 50 * ETH)
    e = history.earnings(CHAIN, MARKET)
    assert e.claimable == ETH + ETH // 10 + ETH // 100 - ETH // 2 and e.claimable_source == "ledger"
    assert (e.withdrawn, e.slashed, e.gas_paid, e.earned) == (ETH // 2, ETH // 2, 123, ETH + ETH // 100)
    assert history.earnings(CHAIN + 1, MARKET).earned == 0


def test_claimable_is_the_chains_credit_when_given(history: History) -> None:
    history.add_ledger(CHAIN, MARKET, 1, "reward", ETH)
    e = history.earnings(CHAIN, MARKET, account_credits_wei=3 * ETH)
    assert (e.claimable, e.claimable_source) == (3 * ETH, "chain")


def test_an_entry_recorded_twice_for_one_tx_counts_once(history: History) -> None:
    for _ in range(2):
        history.add_ledger(CHAIN, MARKET, 1, "reward", ETH, tx_hash="0xaa")
    history.add_ledger(CHAIN, MARKET, 2, "reward", ETH, tx_hash="0xaa")  # another task: counts
    history.add_ledger(CHAIN, MARKET, 3, "reward", ETH)
    history.add_ledger(CHAIN, MARKET, 3, "reward", ETH)  # no tx hash: two real events
    assert history.earnings(CHAIN, MARKET).earned == 4 * ETH


def test_record_tx_and_a_gas_entry_for_the_same_tx_count_once(history: History) -> None:
    history.record_tx(CHAIN, MARKET, 1, "requester", "post", "0xbb", 777)
    history.add_ledger(CHAIN, MARKET, 1, "gas", 777, tx_hash="0xbb")
    assert history.earnings(CHAIN, MARKET).gas_paid == 777


def test_a_transactions_gas_counts_once_under_a_task_or_none(history: History) -> None:
    history.add_ledger(CHAIN, MARKET, None, "gas", 500, tx_hash="0xdd")
    history.record_tx(CHAIN, MARKET, 3, "verifier", "challenge", "0xdd", 500)
    history.add_ledger(CHAIN, MARKET, 4, "gas", 500, tx_hash="0xdd")
    assert history.earnings(CHAIN, MARKET).gas_paid == 500
    job = history.job(CHAIN, MARKET, 3, "verifier")
    assert job is not None and job.gas_paid == 500


def test_amounts_beyond_int64_sum_exactly(history: History) -> None:
    history.add_ledger(CHAIN, MARKET, 1, "reward", 2**63 + 1)
    history.add_ledger(CHAIN, MARKET, 2, "reward", 2**63 + 1)
    history.add_ledger(CHAIN, MARKET, 3, "escrow", -(2**80))  # the requester books escrow negative
    assert history.earnings(CHAIN, MARKET).earned == 2**64 + 2
    assert history.earnings_per_day(CHAIN, MARKET, 1) == [(date.today().isoformat(), 2**64 + 2)]


def test_per_day_lists_every_day_oldest_first_with_zeros(history: History) -> None:
    history.add_ledger(CHAIN, MARKET, 1, "reward", 5, at=_noon(0))
    history.add_ledger(CHAIN, MARKET, 2, "reward", 7, at=_noon(2))
    history.add_ledger(CHAIN, MARKET, 2, "juror_reward", 1, at=_noon(2))
    history.add_ledger(CHAIN, MARKET, 3, "reward", 1000, at=_noon(3))      # before the window
    history.add_ledger(CHAIN, MARKET, 4, "stake_returned", 50, at=_noon(0))  # not earned, only returned
    days = history.earnings_per_day(CHAIN, MARKET, days=3)
    today = date.today()
    assert days == [((today - timedelta(days=2)).isoformat(), 8), ((today - timedelta(days=1)).isoformat(), 0),
                    (today.isoformat(), 5)]


def test_an_unknown_kind_is_refused_with_the_list(history: History) -> None:
    with pytest.raises(InvalidRecord, match="unknown ledger kind 'rewards'") as caught:
        history.add_ledger(CHAIN, MARKET, 1, "rewards", 1)
    assert "stake_returned" in (caught.value.hint or "")


def test_a_float_amount_is_refused(history: History) -> None:
    with pytest.raises(InvalidRecord, match="never pass floats for money"):
        history.add_ledger(CHAIN, MARKET, 1, "reward", 0.5)  # type: ignore[arg-type]


def test_a_bad_days_count_is_refused(history: History) -> None:
    with pytest.raises(InvalidRecord, match="days must be a positive int"):
        history.earnings_per_day(CHAIN, MARKET, days=0)


def test_ledger_time_defaults_to_now(history: History) -> None:
    before = time.time()
    history.add_ledger(CHAIN, MARKET, 1, "reward", 1)
    assert history.earnings_per_day(CHAIN, MARKET, 1)[0][1] == 1
    assert time.time() - before < 60


def test_each_kind_counts_by_its_flow_earned_returned_or_lost(history: History) -> None:
    """v2's kinds: an audit fee, a stake won on a data fault and a demand bond are earned; a void
    dispute's refunds (stake, bond) are returned, never earned; jury fines are lost, apart from
    stakes slashed. Each total is checked against the sum a user would make by hand."""
    rows = [("reward", ETH // 2), ("reward", ETH // 25), ("juror_reward", 3 * ETH // 1000),
            ("audit_fee", ETH // 50), ("data_fault", ETH // 20), ("demand_bond", ETH // 100),
            ("stake_forfeited", ETH // 20), ("stake_returned", ETH // 20), ("bond_returned", ETH // 20),
            ("refund", ETH // 10), ("fine", ETH // 100), ("fine", ETH // 100), ("slashed", ETH // 20),
            ("stake", ETH // 20), ("bond", ETH // 10), ("escrow", ETH), ("gas", 77), ("withdrawn", ETH // 4)]
    for i, (kind, amount) in enumerate(rows):
        history.add_ledger(CHAIN, MARKET, 1, kind, amount, tx_hash=f"0x{i:02x}")
    e = history.earnings(CHAIN, MARKET)
    earned = ETH // 2 + ETH // 25 + 3 * ETH // 1000 + ETH // 50 + ETH // 20 + ETH // 100 + ETH // 20
    returned = ETH // 20 + ETH // 20 + ETH // 10
    assert (e.earned, e.returned, e.fined, e.slashed, e.gas_paid) == (earned, returned, ETH // 50, ETH // 20, 77)
    assert e.claimable == earned + returned - ETH // 4   # what was credited, less what was withdrawn
    assert e.by_kind["audit_fee"] == ETH // 50 and e.by_kind["fine"] == ETH // 50 and "refund" in e.by_kind
    assert e.to_json()["by_kind"]["data_fault"] == str(ETH // 20) and e.to_json()["fined"] == str(ETH // 50)
    assert history.earnings_per_day(CHAIN, MARKET, days=1) == [(date.today().isoformat(), earned)]


def test_kinds_are_an_enum_every_kind_has_a_flow_and_a_label_and_unknown_ones_are_refused(history: History) -> None:
    from engine.history import KIND_INFO, LEDGER_KINDS, Flow, LedgerKind

    assert set(KIND_INFO) == set(LedgerKind) and set(LEDGER_KINDS) == {k.value for k in LedgerKind}
    assert {KIND_INFO[k].flow for k in (LedgerKind.AUDIT_FEE, LedgerKind.DATA_FAULT)} == {Flow.EARNED}
    assert KIND_INFO[LedgerKind.FINE].flow is Flow.LOST and KIND_INFO[LedgerKind.BOND_RETURNED].flow is Flow.RETURNED
    history.add_ledger(CHAIN, MARKET, 1, LedgerKind.AUDIT_FEE, ETH, tx_hash="0x01")
    assert history.earnings(CHAIN, MARKET).earned == ETH
    with pytest.raises(InvalidRecord) as caught:
        history.add_ledger(CHAIN, MARKET, 1, "audit_fees", ETH)
    assert "unknown ledger kind 'audit_fees'" in caught.value.message and "audit_fee" in (caught.value.hint or "")
