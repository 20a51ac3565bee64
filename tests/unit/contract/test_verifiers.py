"""Verifier registration, unbonding and stake withdrawal."""

from __future__ import annotations

import boa

from tests.unit.contract import actions as a


def test_register_stakes_and_activates(market, stranger):
    minimum = market.minVerifierStake()
    with boa.reverts("stake too low"):
        market.registerVerifier(value=minimum - 1, sender=stranger)
    market.registerVerifier(value=minimum, sender=stranger)
    assert market.isVerifier(stranger)
    assert market.verifierStake(stranger) == minimum
    assert market.totalActiveStake() == minimum
    with boa.reverts("stake too low"):
        market.registerVerifier(value=0, sender=stranger)
    market.registerVerifier(value=5, sender=stranger)  # a top-up
    assert market.verifierStake(stranger) == market.totalActiveStake() == minimum + 5


def test_unregister_then_withdraw_after_unbonding(market, stranger):
    with boa.reverts("not verifier"):
        market.unregister(sender=stranger)
    with boa.reverts("not unregistering"):
        market.withdrawStake(sender=stranger)
    a.register(market, stranger)
    market.unregister(sender=stranger)
    assert not market.isVerifier(stranger)
    assert market.totalActiveStake() == 0
    assert market.unbondingUntil(stranger) == boa.env.timestamp + market.unbondingPeriod()
    with boa.reverts("unregistering"):
        market.unregister(sender=stranger)
    with boa.reverts("unregistering"):
        market.registerVerifier(value=market.minVerifierStake(), sender=stranger)
    with boa.reverts("cooling down"):
        market.withdrawStake(sender=stranger)
    a.advance(market.unbondingPeriod())
    market.withdrawStake(sender=stranger)
    assert market.verifierStake(stranger) == 0
    assert a.withdraw_all(market, stranger) == market.minVerifierStake()
    a.register(market, stranger)  # may join again, reusing its freed slot
    assert market.isVerifier(stranger)


def test_a_juror_cannot_withdraw_its_stake_before_the_dispute_resolves(market, disputed):
    task_id, _, jury = disputed
    juror = jury[0]
    assert market.jurorDuties(juror) == 1
    market.unregister(sender=juror)
    votes = dict.fromkeys(jury, True)
    a.commit_all(market, task_id, votes)
    a.reveal_all(market, task_id, votes)
    a.advance(market.unbondingPeriod())
    with boa.reverts("on a jury"):
        market.withdrawStake(sender=juror)
    market.resolve(task_id)
    assert market.jurorDuties(juror) == 0
    market.withdrawStake(sender=juror)


def test_the_verifier_set_is_bounded(market):
    for _ in range(1024):
        a.register(market, a.actor(10**18))
    with boa.reverts("verifiers full"):
        a.register(market, a.actor(10**18))
