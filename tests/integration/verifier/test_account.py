"""The verifier's own account: registering once (even across a crash), the stake, leaving, withdrawing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.chain.anvil import time_travel
from engine.config import paths
from engine.roles.txjournal import TxJournal
from engine.verifier import MISSED, ROLE, VerifierError
from tests.integration.verifier.commitments import WINDOW, publish


def test_a_registration_journaled_before_a_crash_is_sent_once_on_restart(actor) -> None:
    me = actor(3, register=False)
    stake = me.market.params().min_verifier_stake
    journal = TxJournal(me.history, me.market, role=ROLE)
    key = journal.key("-", "register")
    # what TxJournal.send leaves behind when the process dies between signing and broadcasting
    me.history.journal_begin(key, "register", {"role": ROLE, "account": me.verifier.address, "task_id": None})
    prepared = me.market.register_verifier(stake).prepare()
    me.history.journal_update(key, tx=prepared.to_json(), replacements=[])

    me.config = replace(me.config, register=True)
    me.start()
    me.settle()

    assert me.market.verifier_stake(me.verifier.address) == stake  # registered once, not twice
    assert me.market.w3.eth.get_transaction_receipt(prepared.tx_hash)["status"] == 1
    assert me.history.journal_open() == []
    assert me.said("journaled register settled after a restart")


def test_a_stake_below_the_minimum_is_refused_with_the_fix(actor) -> None:
    me = actor(3, stake=10**15)
    with pytest.raises(VerifierError, match="below the market's minimum") as e:
        me.verifier.step()
    assert "--stake 0.1" in e.value.hint
    assert not me.market.is_verifier(me.verifier.address)


def test_a_bigger_stake_is_registered_as_asked(actor) -> None:
    me = actor(3, stake=3 * 10**17)
    me.settle()
    assert me.market.verifier_stake(me.verifier.address) == 3 * 10**17


def test_unregister_then_withdraw_the_stake_after_unbonding(actor) -> None:
    me = actor(3)
    me.settle()
    stake = me.market.verifier_stake(me.verifier.address)
    assert "withdrawable from" in me.verifier.unregister()
    assert not me.market.is_verifier(me.verifier.address)
    assert "already unregistering" in me.verifier.unregister()
    assert me.verifier.withdraw() is None  # still unbonding
    time_travel(me.market.w3, me.market.params().unbonding_period + 1)
    balance = me.market.w3.eth.get_balance(me.verifier.address)
    assert me.verifier.withdraw() is not None
    assert me.market.verifier_stake(me.verifier.address) == 0 and me.market.credits(me.verifier.address) == 0
    assert me.market.w3.eth.get_balance(me.verifier.address) > balance + stake * 99 // 100
    with pytest.raises(VerifierError, match="not a registered verifier"):
        me.verifier.unregister()


def test_an_audit_that_outlives_the_challenge_window_is_marked_missed(actor, market_for, accounts, store,
                                                                      trained) -> None:
    me = actor(3)
    posted = publish(store, market_for(accounts[1]), market_for(accounts[2]), trained)
    time_travel(me.market.w3, WINDOW + 1)
    me.settle()
    job = me.job(posted.task_id)
    assert (job.state, job.outcome) == (MISSED, "the challenge window closed before the audit ended")


def test_a_corrupt_state_file_is_named_with_the_fix(actor) -> None:
    me = actor(3)
    me.verifier.step()
    (state,) = (paths().data_dir / "verifier").glob("*.json")
    state.write_text("{not json")
    with pytest.raises(VerifierError, match=r"state file .* is unreadable") as e:
        me.start()
    assert "delete it" in e.value.hint
