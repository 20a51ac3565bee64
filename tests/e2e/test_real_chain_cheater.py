"""A cheat caught, judged and slashed on a chain that behaves like a public one.

A fresh anvil mines a block every 2 s (no automine); ``idlegrid network deploy`` deploys
TaskMarket through two provider-like proxies that refuse ``eth_getLogs`` over 10 blocks, and
every actor reads the same profile (both endpoints, 2 confirmations) and signs with a keystore
wallet: no ``--devnet`` anywhere. A cheating worker (``tests/e2e/cheater.py``, ``stale``) commits a faked
segment; four ``idlegrid verifier`` processes audit it, one challenges, the other three are
drawn as the jury and commit, then reveal, their votes in real blocks. The test only jumps
the clock past the commit and reveal deadlines (``evm_increaseTime``) once every juror has
done its part, as the devnet tests do, so the 600 s periods cost no waiting. The cheater's
stake is slashed and shared out exactly as the contract's rules say, the ledger balances to
the wei, and no account had any call mined twice.

The chain misbehaves all along the way. Once the cheater has claimed, the first endpoint dies
and the base fee jumps 10x until its commit is mined (priced for the spike, through the second
endpoint). In the dispute, the block holding the challenge is reorganised away, and so is the
block holding the first juror's vote commitment: each sender sees its receipt vanish before it
counts (depth 1 < 2 confirmations) and sends the same signed transaction again, so the dispute
ends as it would have, with every call mined once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from engine.chain.anvil import rpc
from engine.chain.market import (
    Challenged,
    DisputeResolved,
    JurorPenalized,
    JuryDrawn,
    MarketEvent,
    ResultSubmitted,
    TaskMarket,
    TaskStatus,
)
from tests.e2e import roles
from tests.e2e.actors import CHEATERS, REQUESTER, VERIFIERS, Actor
from tests.e2e.chainwatch import ZERO, settle_disputes, wait_status
from tests.e2e.ledger import Ledger, LedgerReport
from tests.e2e.procs import Procs, wait_until
from tests.e2e.realchain import (
    BASE_FEE,
    SPIKE,
    BaseFee,
    Orphan,
    ProfileChain,
    Reorgs,
    deploy,
    home,
    passphrase_file,
    post,
    real_chain_stage,
)
from tests.e2e.specs import REWARD, STAKE, tiny_digits
from tests.e2e.txs import MinedCall, calls_from
from tests.rpcproxy import RpcProxy

STRATEGY = "stale"
FAKED_SEGMENT = 0
CONFIRMATIONS = 2
# Every verifier that caught the cheat challenges it, and any may draw the jury or resolve: on a
# block-time chain they all send in the same block, the first mined wins and the others revert
# (and pay their gas). Each account sends each at most once, and exactly one succeeds.
RACED = {"challenge", "drawJury", "resolve"}
BPS = 10_000
CEILING_GWEI = 100
DISPUTE_REORGS = {"challenge": 1, "vote": 1}   # what is orphaned in the dispute -> the reorg's depth


@dataclass
class Run:
    chain: ProfileChain
    actors: dict[str, Actor]
    task_id: int
    report: LedgerReport
    events: list[MarketEvent]
    calls: dict[str, list[MinedCall]]   # actor -> its mined calls to the market
    commit_base_fee: int                # the base fee of the block the cheater's commit was mined in
    served_after_kill: int              # requests the second endpoint answered once the first died
    reorgs: Reorgs

    def of(self, cls: type, **match: object) -> list:
        return [e for e in self.events if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items())]

    def name_of(self, address: str) -> str:
        return next(name for name, a in self.actors.items() if a.address == address)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("realchain-cheater")
    with real_chain_stage(root) as stage:
        yield play(root, stage.procs, stage.w3, stage.proxies, stage.fee, stage.blob_url)


def dispute_reorgs(market: TaskMarket, task_id: int) -> list[Orphan]:
    """The planned reorgs of the dispute: the challenge's block, then the first vote's."""
    def commitments() -> list[bytes]:
        dispute = market.get_dispute(task_id)
        return [market.vote_of(task_id, juror).commitment for juror in (dispute.jury if dispute else [])]

    return [
        Orphan("challenge", DISPUTE_REORGS["challenge"],
               mined=lambda: market.get_task(task_id).status == TaskStatus.CHALLENGED,
               gone=lambda: market.get_task(task_id).status == TaskStatus.SUBMITTED),
        Orphan("vote", DISPUTE_REORGS["vote"],
               mined=lambda: any(c != ZERO for c in commitments()),
               gone=lambda: all(c == ZERO for c in commitments())),
    ]


def play(root: Path, procs: Procs, w3: Web3, proxies: list[RpcProxy], fee: BaseFee, blob_url: str) -> Run:
    actors = {"requester": home(root, "requester", REQUESTER), STRATEGY: home(root, STRATEGY, CHEATERS[STRATEGY])}
    actors.update({f"verifier{i}": home(root, f"verifier{i}", index) for i, index in enumerate(VERIFIERS)})
    address, _ = deploy(actors["requester"], [a for n, a in actors.items() if n != "requester"],
                        [*(a for p in proxies for a in ("--rpc", p.url)), "--name", "cheatchain",
                         "--blob-url", blob_url, "--max-fee-gwei", str(CEILING_GWEI),
                         "--confirmations", str(CONFIRMATIONS), "--use"])
    chain = ProfileChain(w3, address)
    rpc(w3, "anvil_mine", hex(40))   # some history: a scan from the deploy block spans more than 10 blocks
    market = chain.market()
    ledger = Ledger(market, {name: a.address for name, a in actors.items()})
    task_id = post(actors["requester"], tiny_digits("cheatchain-digits", seed=3), root)

    verifiers = [a for n, a in actors.items() if n.startswith("verifier")]
    for v in verifiers:
        procs.idlegrid(v.name, v, "verifier", "--passphrase-file", str(passphrase_file(v)),
                       "--samples", str(roles.SAMPLES), "--poll", roles.POLL_S)
    wait_until(lambda: all(market.is_verifier(v.address) for v in verifiers), 240,
               "the four verifiers to register", procs=procs)
    cheater = actors[STRATEGY]
    procs.python(STRATEGY, cheater, "tests.e2e.cheater", "--strategy", STRATEGY, "--segment", str(FAKED_SEGMENT),
                 "--ignore-idle", "--max-tasks", "1", "--passphrase-file", str(passphrase_file(cheater)))
    wait_status(chain, procs, task_id, TaskStatus.CLAIMED, TaskStatus.SUBMITTED, timeout=300, why=" (cheater claims)")
    proxies[0].kill()                       # the first endpoint dies mid-job
    served_before = proxies[1].requests
    fee.target = SPIKE                      # and the base fee jumps 10x until the commit is mined
    reorgs = Reorgs(w3, dispute_reorgs(market, task_id))
    try:
        wait_status(chain, procs, task_id, TaskStatus.SUBMITTED, TaskStatus.CHALLENGED, timeout=300,
                    why=" (the cheater commits through the spike)")
        (submitted,) = market.task_events(ResultSubmitted, task_id)
        fee.target = BASE_FEE
        wait_until(lambda: "challenge" in reorgs.done and market.get_task(task_id).status == TaskStatus.CHALLENGED,
                   600, f"{STRATEGY} to be caught, the challenge orphaned and sent again", procs=procs)
        # settle_disputes jumps past the commit deadline once all jurors committed: not before the
        # reorg has taken the first commitment away, or the re-sent ones would come too late
        wait_until(lambda: "vote" in reorgs.done, 600, "a juror's vote to be committed and orphaned", procs=procs)
        settle_disputes(chain, procs, [task_id], timeout=600)
    finally:
        reorgs.stop()
    procs.stop_all()
    return Run(chain, actors, task_id, ledger.report(), roles.market_events(chain, ledger.first_block),
               {name: calls_from(chain, a.address, ledger.first_block) for name, a in actors.items()},
               int(w3.eth.get_block(submitted.block_number)["baseFeePerGas"]),
               proxies[1].requests - served_before, reorgs)


def test_the_cheat_is_challenged_on_its_faked_segment_judged_three_to_nothing_and_slashed(run: Run) -> None:
    (submitted,) = run.of(ResultSubmitted, task_id=run.task_id)
    (challenge,) = run.of(Challenged, task_id=run.task_id)
    (drawn,) = run.of(JuryDrawn, task_id=run.task_id, dispute_id=challenge.dispute_id)
    (resolved,) = run.of(DisputeResolved, task_id=run.task_id, dispute_id=challenge.dispute_id)
    assert submitted.worker == run.actors[STRATEGY].address
    assert challenge.segment == FAKED_SEGMENT and run.name_of(challenge.challenger).startswith("verifier")
    assert len(set(drawn.jury)) == 3 and challenge.challenger not in drawn.jury
    assert (resolved.worker_won, resolved.cheat_votes, resolved.honest_votes) == (False, 3, 0)
    assert resolved.slashed == STAKE
    assert run.report.gained(STRATEGY) == -STAKE, run.report.table()
    assert run.chain.market().get_task(run.task_id).status == TaskStatus.OPEN   # reopened for an honest worker


def test_the_challenger_and_the_jurors_get_exactly_the_slashed_stake(run: Run) -> None:
    """Each juror that voted with the outcome gets jurorRewardBps of the stake over the jury
    size; the challenger its bond back and the rest of the stake."""
    params = run.chain.market().params()
    (challenge,) = run.of(Challenged, task_id=run.task_id)
    (drawn,) = run.of(JuryDrawn, task_id=run.task_id)
    (resolved,) = run.of(DisputeResolved, task_id=run.task_id)
    share = STAKE * params.juror_reward_bps // BPS // params.jury_size
    assert resolved.juror_share == share and not run.of(JurorPenalized)
    expected = {f"verifier{i}": 0 for i in range(len(VERIFIERS))}
    expected[run.name_of(challenge.challenger)] += STAKE - share * params.jury_size
    for juror in drawn.jury:
        expected[run.name_of(juror)] += share
    assert {name: run.report.gained(name) for name in expected} == expected, run.report.table()


def test_the_ledger_balances_with_the_reward_still_in_escrow(run: Run) -> None:
    print(run.report.table())  # shown with `pytest -rP`
    assert run.report.outsiders == {}, "someone outside the test's accounts sent transactions"
    assert run.report.gained("requester") == -REWARD, run.report.table()
    assert run.report.escrow_after - run.report.escrow_before == REWARD   # the reopened task's reward
    assert run.report.imbalance == 0, run.report.table()


def test_no_account_had_a_call_mined_twice(run: Run) -> None:
    for name, calls in run.calls.items():
        mined = Counter((c.function, c.args.get("taskId")) for c in calls)
        assert all(n == 1 for n in mined.values()), (name, mined)
        assert all(c.ok for c in calls if c.function not in RACED), (name, calls)
    everyone = [c for calls in run.calls.values() for c in calls]
    assert Counter(c.function for c in run.calls[STRATEGY]) == {"claimTask": 1, "submitResult": 1}
    for function in RACED:
        assert sum(c.ok for c in everyone if c.function == function) == 1, function
    (drawn,) = run.of(JuryDrawn, task_id=run.task_id)
    for juror in drawn.jury:
        votes = Counter(c.function for c in run.calls[run.name_of(juror)] if c.ok)
        assert (votes["commitVote"], votes["revealVote"]) == (1, 1), run.name_of(juror)


def test_the_cheat_was_committed_through_a_dead_endpoint_and_a_10x_base_fee(run: Run) -> None:
    assert run.commit_base_fee == SPIKE
    assert run.served_after_kill > 0


def test_the_challenge_and_a_vote_were_orphaned_and_sent_again_once(run: Run) -> None:
    """Orphaned (gone from the chain after the reorg), then mined again: the dispute above was
    resolved 3-0, and no account has a call mined twice."""
    assert run.reorgs.orphaned == dict.fromkeys(DISPUTE_REORGS, True)
    # a block mined between seeing the transaction and the reorg deepens it by one, still under
    # the confirmations the senders wait for
    assert all(DISPUTE_REORGS[name] <= depth <= CONFIRMATIONS for name, depth in run.reorgs.done.items())
