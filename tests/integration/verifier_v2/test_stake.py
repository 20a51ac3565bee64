"""A v2 verifier registers with the market's minimum now and the arithmetic it replays exactly."""

from __future__ import annotations

import pytest

from engine.chain.anvil import time_travel
from engine.chain.market_v2 import arithmetic_id
from engine.training.determinism import arithmetic
from engine.verifier import VerifierOptionError


def test_registers_with_the_minimum_stake_now_and_this_machines_exact_arithmetic(actor) -> None:
    me = actor(3)
    minimum = me.market.min_stake_now()
    assert not me.market.is_verifier(me.address)
    me.settle()

    info = me.market.verifier(me.address)
    assert info.active and info.stake == minimum
    # drawn for exact-mode tasks of its own arithmetic (and every tolerance-mode task)
    assert info.arithmetic == arithmetic_id(arithmetic("cpu")) != 0
    assert me.ledger()["bond"] == minimum
    assert me.said(f"registering with arithmetic {arithmetic('cpu')}")
    assert me.said("registered as a verifier with a stake of 0.1 ETH")
    me.start()
    assert me.settle() == 0  # a restart does not register again
    assert me.market.verifier(me.address).stake == minimum


def test_a_stake_below_the_minimum_now_is_refused_in_words(actor) -> None:
    minimum = actor(4).market.min_stake_now()
    me = actor(3, stake=minimum // 2)
    with pytest.raises(VerifierOptionError) as e:
        me.verifier.step()
    assert e.value.message == "a stake of 0.05 ETH is below the market's minimum of 0.1 ETH"
    assert e.value.hint == "use --stake 0.1 or more"
    assert not me.market.is_verifier(me.address)


def test_unregister_and_withdraw_the_stake_after_unbonding(actor) -> None:
    me = actor(3)
    me.settle()
    stake = me.market.verifier_stake(me.address)
    assert "withdrawable from" in me.verifier.unregister()
    assert "already unregistering" in me.verifier.unregister()
    time_travel(me.market.w3, me.market.params().unbonding_period + 1)
    balance = me.market.balance(me.address)
    assert me.verifier.withdraw() is not None
    assert me.ledger()["bond_returned"] == stake and me.ledger()["withdrawn"] == stake
    assert me.market.balance(me.address) > balance
