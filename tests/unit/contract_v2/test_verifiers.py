"""Verifier registration, unbonding, stake withdrawal and the epoch stake snapshot."""

from __future__ import annotations

import boa

from tests.unit.contract_v2 import actions as a


def test_register_stakes_and_activates(market, stranger):
    minimum = market.minVerifierStake()
    with boa.reverts("stake too low"):
        market.registerVerifier(0, value=minimum - 1, sender=stranger)
    market.registerVerifier(7, value=minimum, sender=stranger)
    assert market.isVerifier(stranger)
    assert (market.verifierStake(stranger), market.verifierArithmetic(stranger)) == (minimum, 7)
    assert market.totalActiveStake() == minimum
    with boa.reverts("stake too low"):
        market.registerVerifier(7, value=0, sender=stranger)
    with boa.reverts("arithmetic"):
        market.registerVerifier(0, value=5, sender=stranger)
    market.registerVerifier(7, value=5, sender=stranger)  # a top-up
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
        a.register(market, stranger)
    with boa.reverts("cooling down"):
        market.withdrawStake(sender=stranger)
    a.advance(market.unbondingPeriod())
    market.withdrawStake(sender=stranger)
    assert market.verifierStake(stranger) == 0
    assert a.withdraw_all(market, stranger) == market.minVerifierStake()
    a.register(market, stranger)  # may join again
    assert market.isVerifier(stranger)


def test_a_juror_cannot_withdraw_its_stake_before_the_dispute_resolves(market, disputed):
    _, dispute_id, _, jury = disputed
    juror = jury[0]
    assert market.jurorDuties(juror) == 1
    market.unregister(sender=juror)
    votes = dict.fromkeys(jury, True)
    a.commit_all(market, dispute_id, votes)
    a.reveal_all(market, dispute_id, votes)
    a.advance(market.unbondingPeriod())
    with boa.reverts("on a jury"):
        market.withdrawStake(sender=juror)
    market.resolve(dispute_id)
    assert market.jurorDuties(juror) == 0
    market.withdrawStake(sender=juror)


def test_exact_mode_juries_come_from_verifiers_of_that_arithmetic(market, requester, worker, challenger):
    others = [a.actor() for _ in range(6)]
    exact = [a.actor() for _ in range(6)]
    for v in others:
        a.register(market, v, arithmetic=1)
    for v in exact:
        a.register(market, v, arithmetic=2)
    a.next_epoch(market)
    task_id, tree = a.posted_and_submitted(market, requester, worker, arithmetic=2)
    dispute_id = a.challenge(market, challenger, task_id, tree, segment=1)
    jury = a.draw(market, dispute_id)
    assert len(jury) == market.jurySize() and set(jury) <= set(exact)
    tolerant, tree = a.posted_and_submitted(market, requester, worker)  # tolerance mode: everyone
    assert market.getTask(tolerant).arithmetic == 0

