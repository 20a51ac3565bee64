"""One test per attack of issue 15 on TaskMarket v1; each passes on TaskMarketV2.

The same attacks against v1 (contracts/TaskMarket.vy): `python -m tests.unit.contract_v2.v1_attacks` (each works there,
and v1 has no data demand, paid audit or committed challenge at all).
"""

from __future__ import annotations

import boa
from eth_abi import encode
from eth_hash.auto import keccak

from tests.unit.contract_v2 import actions as a


def audit_segment(task_id: int, salt: bytes, n: int) -> int:
    """The segment an audit with this salt replays (TaskMarket._audit_segment)."""
    return int.from_bytes(keccak(encode(["bytes32", "uint256"], [salt, task_id])), "big") % (n - 1)


def audit(market, task_id: int, tree, auditor: str, salt: bytes) -> bytes:
    """Commit the leaf at the end of the salt's segment; return it."""
    leaf = tree.leaves[audit_segment(task_id, salt, len(tree)) + 1]
    market.commitAudit(task_id, audit_commitment(task_id, leaf, salt, auditor), sender=auditor)
    return leaf


def audit_commitment(task_id: int, leaf: bytes, salt: bytes, auditor: str) -> bytes:
    return keccak(encode(["uint256", "bytes32", "bytes32", "address"], [task_id, leaf, salt, auditor]))


# 1. Jury capture: stake topped up once the seed is known does not weigh in the draw.
def test_stake_topped_up_after_the_seed_does_not_change_the_jury(market, requester, worker, challenger, verifiers):
    sybils = [a.actor(10**7 * a.ETHER) for _ in range(3)]
    for sybil in sybils:
        a.register(market, sybil)
    a.next_epoch(market)
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    dispute_id = a.challenge(market, challenger, task_id, tree, segment=2)
    boa.env.time_travel(blocks=2)  # the draw block is mined: its hash (the seed) is public now
    with boa.env.anchor():
        market.drawJury(dispute_id)
        fair = list(market.jury(dispute_id))
    for sybil in sybils:  # each Sybil now holds ~1000x all other stake together
        market.registerVerifier(0, value=10**6 * a.ETHER, sender=sybil)
    market.drawJury(dispute_id)
    assert list(market.jury(dispute_id)) == fair
    assert len(fair) == market.jurySize() >= 5


# 2. No votes never pay the worker: too few reveals redraw, then both sides get their deposit back.
def test_a_jury_that_does_not_vote_never_pays_the_worker(market, requester, worker, challenger, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    dispute_id = a.challenge(market, challenger, task_id, tree, segment=3)
    bond = market.getDispute(dispute_id).bond
    for draw in range(1, market.maxDraws() + 1):
        assert market.getDispute(dispute_id).draws == draw
        a.draw(market, dispute_id)
        a.vote_and_resolve(market, dispute_id, {})  # 0:0
    dispute = market.getDispute(dispute_id)
    assert dispute.status == a.D_VOID
    assert market.credits(worker) == a.STAKE  # its stake back, no bond, no fines, no reward
    assert market.credits(challenger) == bond
    task = market.getTask(task_id)
    assert (task.status, task.reward) == (a.OPEN, a.REWARD)  # the requester's payment stays escrowed


def test_jurors_voting_against_the_outcome_lose_stake(market, requester, worker, challenger, disputed):
    _, dispute_id, _, jury = disputed
    stake = market.verifierStake(jury[0])
    votes = dict.fromkeys(jury[:3], False) | dict.fromkeys(jury[3:], True)
    a.vote_and_resolve(market, dispute_id, votes)
    assert market.getDispute(dispute_id).status == a.D_CHALLENGER_WON
    assert all(market.verifierStake(j) == stake - market.wrongVotePenalty() for j in jury[3:])
    assert all(market.verifierStake(j) == stake for j in jury[:3])
    assert market.credits(worker) == 0


# 3. A worker's own (Sybil) challenge does not shield its faked segments.
def test_a_sybil_challenge_does_not_close_the_window(market, requester, worker, challenger, verifiers):
    sybil = a.actor()
    task_id, tree = a.posted_and_submitted(market, requester, worker)  # segment 5 is the faked one
    shield = a.challenge(market, sybil, task_id, tree, segment=0)  # an honest segment, challenged at once
    a.draw(market, shield)
    a.vote_and_resolve(market, shield, dict.fromkeys(market.jury(shield), True))
    assert market.getDispute(shield).status == a.D_WORKER_WON
    assert market.getTask(task_id).status == a.SUBMITTED  # still open to challenges
    real = a.challenge(market, challenger, task_id, tree, segment=5)
    a.draw(market, real)
    a.vote_and_resolve(market, real, dict.fromkeys(market.jury(real), False))
    assert market.getDispute(real).status == a.D_CHALLENGER_WON
    assert market.getTask(task_id).status == a.OPEN
    assert market.credits(challenger) > market.challengeBond(task_id)


# 4. Data availability is decided on chain: an answer after the response window cannot flip it.
def test_a_late_answer_cannot_flip_a_data_demand(market, requester, worker, challenger):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    demand = market.demandData(task_id, 4, value=market.minChallengeBond(), sender=challenger)
    with boa.reverts("disputes open"):
        a.advance(a.CHALLENGE_WINDOW + 1)
        market.finalize(task_id)
    a.advance(market.responsePeriod())
    with boa.reverts("too late"):
        market.answerData(demand, tree.leaves[4], b"\xb1" * 32, tree.proof(4), sender=worker)
    market.claimDataFault(demand, sender=challenger)
    assert market.credits(challenger) == market.minChallengeBond() + a.STAKE
    assert market.getTask(task_id).status == a.OPEN


def test_an_answer_must_prove_against_the_root(market, requester, worker, challenger):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    demand = market.demandData(task_id, 4, value=market.minChallengeBond(), sender=challenger)
    with boa.reverts("bad proof"):  # a manifest whose leaves do not match the root cannot answer
        market.answerData(demand, tree.leaves[3], b"\xb1" * 32, tree.proof(4), sender=worker)
    market.answerData(demand, tree.leaves[4], b"\xb1" * 32, tree.proof(4), sender=worker)
    assert market.credits(worker) == market.minChallengeBond()
    with boa.reverts("no demand"):
        market.claimDataFault(demand, sender=challenger)
    a.advance(a.CHALLENGE_WINDOW + 1)
    market.finalize(task_id)


# 5. A challenge cannot be front-run: the reveal is bound to the committer.
def test_a_copied_challenge_reveal_wins_nothing(market, requester, worker, challenger, verifiers):
    bot = a.actor()
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    salt = b"\x07" * 32
    commit_id = a.commit_challenge(market, challenger, task_id, 5, salt)
    boa.env.time_travel(blocks=1)
    with boa.reverts("not committer"):  # the bot copies the reveal transaction from the mempool
        a.reveal_challenge(market, bot, commit_id, tree, 5, salt)
    copied = a.commit_challenge(market, bot, task_id, 5, salt)  # or commits the same content itself
    dispute_id = a.reveal_challenge(market, challenger, commit_id, tree, 5, salt)
    boa.env.time_travel(blocks=1)
    late = a.reveal_challenge(market, bot, copied, tree, 5, salt)
    a.draw(market, dispute_id)
    a.vote_and_resolve(market, dispute_id, dict.fromkeys(market.jury(dispute_id), False))
    assert market.credits(challenger) > market.challengeBond(task_id)
    market.resolve(late)  # the result is gone: the bot's dispute is void, its bond comes back
    assert market.credits(bot) == market.challengeBond(task_id)


# 6. A lazy auditor cannot collect the verification fee; a working one is paid even when all is well.
def test_only_an_audit_that_proves_its_replay_is_paid(market, requester, worker, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    boa.env.time_travel(blocks=2)  # the seed block after the submit is mined
    market.assignAuditors(task_id)
    (auditor,) = market.auditors(task_id)
    salt = b"\x05" * 32
    segment = audit_segment(task_id, salt, len(tree))
    with boa.env.anchor():  # lazy: commits a leaf it never computed
        market.commitAudit(task_id, audit_commitment(task_id, b"\x99" * 32, salt, auditor), sender=auditor)
        a.advance(a.CHALLENGE_WINDOW + 1)
        market.finalize(task_id)
        with boa.reverts("bad proof"):
            market.revealAudit(task_id, b"\x99" * 32, tree.proof(segment + 1), salt, sender=auditor)
        a.advance(market.revealPeriod())
        market.closeAudit(task_id)
        assert market.credits(auditor) == 0
        assert market.credits(requester) == a.REWARD * market.auditFeeBps() // 10_000
    leaf = tree.leaves[segment + 1]
    market.commitAudit(task_id, audit_commitment(task_id, leaf, salt, auditor), sender=auditor)
    with boa.reverts("not finalized"):
        market.revealAudit(task_id, leaf, tree.proof(segment + 1), salt, sender=auditor)
    a.advance(a.CHALLENGE_WINDOW + 1)
    market.finalize(task_id)
    market.revealAudit(task_id, leaf, tree.proof(segment + 1), salt, sender=auditor)
    fee = a.REWARD * market.auditFeeBps() // 10_000
    assert market.credits(auditor) == fee
    assert market.credits(worker) == a.REWARD - fee + a.STAKE


def test_an_unassigned_verifier_cannot_take_the_fee(market, requester, worker, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker)
    boa.env.time_travel(blocks=2)  # the seed block after the submit is mined
    market.assignAuditors(task_id)
    outsider = next(v for v in verifiers if v not in market.auditors(task_id))
    with boa.reverts("not assigned"):
        market.commitAudit(task_id, b"\x01" * 32, sender=outsider)
    a.challenge(market, outsider, task_id, tree, segment=1)  # it may still challenge


# 7. Audit samples cannot be ground: they depend on the auditor's salt only, hidden until revealed.
def test_no_block_history_moves_an_audit_sample(market, requester, worker, verifiers):
    task_id, tree = a.posted_and_submitted(market, requester, worker, n=13)
    salt = b"\x42" * 32
    segment = audit_segment(task_id, salt, len(tree))
    for blocks in (2, 3, 30):  # a block producer's choices: which block, which hash, when
        with boa.env.anchor():
            boa.env.time_travel(blocks=blocks)
            market.assignAuditors(task_id)
            if not market.getAudit(task_id).assigned:  # the epoch turned: drawn from a later block
                boa.env.time_travel(blocks=2)
                market.assignAuditors(task_id)
            (auditor,) = market.auditors(task_id)
            leaf = audit(market, task_id, tree, auditor, salt)
            a.advance(a.CHALLENGE_WINDOW + 1)
            market.finalize(task_id)
            with boa.reverts("bad proof"):  # the chain holds the auditor to its salt's segment
                market.revealAudit(task_id, leaf, tree.proof(segment), salt, sender=auditor)
            market.revealAudit(task_id, leaf, tree.proof(segment + 1), salt, sender=auditor)
    spread = {audit_segment(task_id, keccak(bytes([i])), len(tree)) for i in range(64)}
    assert len(spread) == 12  # over salts the sample covers every segment


# 8. Registration cannot be locked: the minimum stake rises with the number of verifiers.
def test_sybils_cannot_fill_the_verifier_set(market):
    base = market.minVerifierStake()
    sybils = [a.actor(10**9 * a.ETHER) for _ in range(1024)]
    for i, sybil in enumerate(sybils):
        a.register(market, sybil, base << (i // 256))
    newcomer = a.actor(10**9 * a.ETHER)
    with boa.reverts("stake too low"):
        a.register(market, newcomer, base)
    a.register(market, newcomer, base << 4)  # the 1025th verifier still gets in
    assert market.isVerifier(newcomer)
    assert market.activeVerifiers() == 1025
