"""Random sequences of market actions keep every wei accounted for and leave nothing stuck.

Every path of TaskMarket v2 is a rule: tasks, committed challenges, juries (redraws, void
disputes), data demands, paid audits, verifier churn. After every step the contract's balance
must equal what the model says it holds; every sequence ends by driving all tasks, disputes,
demands, audits and verifiers to their end and withdrawing every credit: the market must then
hold exactly 0 wei.

Sequences per run: TARGETS x IDLEGRID_FUZZ_EXAMPLES (default 40 each, 200 in all: ~0.35 s of CPU each,
about 70 s on a quiet machine; 7.6 min measured on a heavily loaded 2-core one), STEPS steps each. The long run
(10,000 sequences, about an hour of CPU):
    IDLEGRID_FUZZ_EXAMPLES=2000 PYTHONPATH=$PWD .venv/bin/python -m pytest tests/unit/contract_v2/test_fuzz.py -q
"""

from __future__ import annotations

import os

import boa
import pytest
from eth_abi import decode
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine.chain.market_v2 import audit_commitment, audit_segment
from tests.unit.contract_v2 import actions as a

STEPS = 25
# shrinking a failing sequence can take many minutes: IDLEGRID_FUZZ_SHRINK=1 to shrink
PHASES = [Phase.explicit, Phase.reuse,
          Phase.generate] + ([Phase.shrink] if os.environ.get("IDLEGRID_FUZZ_SHRINK") else [])
TARGETS = 5
EXAMPLES = int(os.environ.get("IDLEGRID_FUZZ_EXAMPLES", "40"))
ENDED = (a.CANCELLED,)
HOLDS_STAKE = (a.CLAIMED, a.SUBMITTED)
# short timeouts, so that random waits cross them often
CLAIM, TRAIN, WINDOW = 300, 600, 300
pick = st.integers(min_value=0, max_value=2**16)


def uint(output: bytes) -> int:
    return decode(["uint256"], output)[0]


class MarketMachine(RuleBasedStateMachine):
    """A model of what the market escrows; after every step the contract's balance must be
    escrow + verifier stakes + credits, and deposits - withdrawals."""

    def __init__(self, market, accounts):
        super().__init__()
        self.market = market
        self.requesters, self.workers, self.challengers, self.verifiers = accounts
        self.everyone = [x for group in accounts for x in group] + [market.treasury()]
        self.credits_slot = a.storage_slot(market, "_credits")
        self.stakes_slot = a.storage_slot(market, "verifierStake")
        self.fee_bps = market.auditFeeBps()
        self.anchor = boa.env.anchor()  # each sequence starts from the same deployment
        self.anchor.__enter__()
        for account in self.everyone:
            boa.env.set_balance(account, 10**6 * a.ETHER)
        self.tasks: dict[int, dict] = {}
        self.commits: dict[int, dict] = {}  # unrevealed, unexpired challenge commitments
        self.disputes: dict[int, dict] = {}  # open disputes
        self.demands: dict[int, dict] = {}  # open data demands
        self.registered: dict[str, int] = {}  # verifier -> 0 (active) or its unbonding end
        self.deposited = 0
        self.withdrawn = 0

    def teardown(self):
        try:
            self.end_everything()
        finally:
            self.anchor.__exit__(None, None, None)

    # -------------------------------------------------------------- helpers

    def now(self) -> int:
        return boa.env.timestamp

    def ids(self, *statuses) -> list[int]:
        return [t for t, task in self.tasks.items() if task["status"] in statuses]

    def call(self, allowed: set[str], fn_name: str, *args, sender, value: int = 0) -> bytes | None:
        """Send a call; a revert must give one of `allowed` reasons. The output if it succeeded."""
        reason, output = a.attempt(self.market, fn_name, *args, sender=sender, value=value)
        assert reason is None or reason in allowed, f"{fn_name}: {reason}"
        if reason is None:
            self.deposited += value
        return None if reason else output

    def sync(self) -> None:
        """Refresh the model of every task, dispute and demand from the chain."""
        for task_id, task in self.tasks.items():
            chain = self.market.getTask(task_id)
            if chain.status == a.OPEN and task["status"] != a.OPEN:
                task["tree"] = None
            task.update(status=chain.status, deadline=chain.deadline, worker=chain.worker,
                        round=chain.submitBlock)
            if chain.status == a.FINALIZED and task["audit"] is None:
                task["audit"] = "open"
        for dispute_id in list(self.disputes):
            if self.market.getDispute(dispute_id).status != a.D_OPEN:
                del self.disputes[dispute_id]
        for demand_id in list(self.demands):
            if self.market.getDemand(demand_id).bond == 0:
                del self.demands[demand_id]

    def pick_from(self, items, sel):
        items = list(items)
        return items[sel % len(items)]

    # -------------------------------------------------------------- tasks

    @rule(who=pick, reward=st.sampled_from([1, 10**9, a.ETHER // 3]), stake=st.sampled_from([1, 10**15, a.ETHER]))
    def post(self, who, reward, stake):
        requester = self.pick_from(self.requesters, who)
        out = self.call(set(), "postTask", a.SPEC_HASH, a.SPEC_URI, stake, CLAIM, TRAIN, WINDOW, 0,
                        value=reward, sender=requester)
        self.tasks[uint(out)] = {"status": a.OPEN, "requester": requester, "reward": reward, "stake": stake,
                                     "deadline": self.now() + CLAIM, "tree": None, "audit": None, "round": 0}

    @precondition(lambda self: self.ids(a.OPEN))
    @rule(sel=pick)
    def cancel(self, sel):
        task_id = self.pick_from(self.ids(a.OPEN), sel)
        self.call(set(), "cancelTask", task_id, sender=self.tasks[task_id]["requester"])
        self.sync()

    @precondition(lambda self: self.ids(a.OPEN))
    @rule(sel=pick, who=pick)
    def claim(self, sel, who):
        task_id = self.pick_from(self.ids(a.OPEN), sel)
        task = self.tasks[task_id]
        self.call({"claim closed"}, "claimTask", task_id, value=task["stake"], sender=self.pick_from(self.workers, who))
        self.sync()

    @precondition(lambda self: self.ids(a.CLAIMED))
    @rule(sel=pick)
    def expire(self, sel):
        self.call({"not expired"}, "expireClaim", self.pick_from(self.ids(a.CLAIMED), sel), sender=self.challengers[0])
        self.sync()

    @precondition(lambda self: self.ids(a.CLAIMED))
    @rule(sel=pick, n=st.integers(min_value=2, max_value=9))
    def submit(self, sel, n):
        task_id = self.pick_from(self.ids(a.CLAIMED), sel)
        task = self.tasks[task_id]
        tree = a.MerkleTree(a.leaves(n, task_id.to_bytes(4, "big")))
        if self.call({"too late"}, "submitResult", task_id, tree.root, n, a.RESULT_URI,
                     sender=task["worker"]) is not None:
            task.update(tree=tree, audit=None)
        self.sync()

    @precondition(lambda self: self.ids(a.SUBMITTED))
    @rule(sel=pick)
    def finalize(self, sel):
        self.call({"window open", "disputes open"}, "finalize", self.pick_from(self.ids(a.SUBMITTED), sel),
                  sender=self.requesters[0])
        self.sync()

    # -------------------------------------------------------------- challenges and juries

    @precondition(lambda self: self.ids(a.SUBMITTED))
    @rule(sel=pick, who=pick, seg=pick)
    def commit_challenge(self, sel, who, seg):
        task_id = self.pick_from(self.ids(a.SUBMITTED), sel)
        task = self.tasks[task_id]
        challenger = self.pick_from(self.challengers, who)
        segment = seg % (len(task["tree"]) - 1)
        salt = seg.to_bytes(32, "big")
        bond = self.market.challengeBond(task_id)
        commitment = a.challenge_commitment(task_id, segment, salt, challenger)
        out = self.call({"window closed"}, "commitChallenge", task_id, commitment, value=bond, sender=challenger)
        if out is not None:
            self.commits[uint(out)] = {"task_id": task_id, "tree": task["tree"], "segment": segment, "salt": salt,
                                           "challenger": challenger, "bond": bond}

    @precondition(lambda self: self.commits)
    @rule(sel=pick)
    def reveal_challenge(self, sel):
        commit_id = self.pick_from(self.commits, sel)
        c = self.commits[commit_id]
        boa.env.time_travel(blocks=1)
        tree, s = c["tree"], c["segment"]
        out = self.call({"replaced", "reveal closed"}, "revealChallenge", commit_id, s, tree.leaves[s], tree.proof(s),
                        tree.leaves[s + 1], tree.proof(s + 1), c["salt"], sender=c["challenger"])
        if out is not None:
            del self.commits[commit_id]
            self.disputes[uint(out)] = {"bond": c["bond"]}

    @precondition(lambda self: self.commits)
    @rule(sel=pick)
    def expire_challenge(self, sel):
        commit_id = self.pick_from(self.commits, sel)
        if self.call({"reveal open"}, "expireChallenge", commit_id, sender=self.requesters[0]) is not None:
            del self.commits[commit_id]

    @precondition(lambda self: self.disputes)
    @rule(sel=pick, blocks=st.sampled_from([1, 2, 300]))
    def draw_jury(self, sel, blocks):
        dispute_id = self.pick_from(self.disputes, sel)
        boa.env.time_travel(blocks=blocks)
        if self.call({"too early", "jury drawn"}, "drawJury", dispute_id, sender=self.requesters[0]) is not None:
            jury = list(self.market.jury(dispute_id))
            assert len(set(jury)) == len(jury) <= self.market.jurySize()
            assert all(j in self.registered for j in jury)

    @precondition(lambda self: self.disputes)
    @rule(sel=pick, who=pick, honest=st.booleans())
    def vote(self, sel, who, honest):
        dispute_id = self.pick_from(self.disputes, sel)
        jury = list(self.market.jury(dispute_id))
        if not jury:
            return
        juror = self.pick_from(jury, who)
        salt = a.salt_of(juror)
        self.call({"commit closed", "already committed", "no jury"}, "commitVote", dispute_id,
                  a.commitment(honest, salt, juror), sender=juror)
        self.call({"commit open", "reveal closed", "no commit", "already revealed", "bad reveal", "no jury"},
                  "revealVote", dispute_id, honest, salt, sender=juror)

    @precondition(lambda self: self.disputes)
    @rule(sel=pick)
    def resolve(self, sel):
        self.call({"no jury", "reveal open"}, "resolve", self.pick_from(self.disputes, sel), sender=self.workers[0])
        self.sync()

    # -------------------------------------------------------------- data availability

    @precondition(lambda self: self.ids(a.SUBMITTED))
    @rule(sel=pick, who=pick, index=pick)
    def demand(self, sel, who, index):
        task_id = self.pick_from(self.ids(a.SUBMITTED), sel)
        n = len(self.tasks[task_id]["tree"])
        out = self.call({"window closed", "own result"}, "demandData", task_id, index % n,
                        value=self.market.minChallengeBond(), sender=self.pick_from(self.challengers, who))
        if out is not None:
            self.demands[uint(out)] = {"task_id": task_id, "index": index % n, "tree": self.tasks[task_id]["tree"]}

    @precondition(lambda self: self.demands)
    @rule(sel=pick, answer=st.booleans())
    def settle_demand(self, sel, answer):
        demand_id = self.pick_from(self.demands, sel)
        q = self.demands[demand_id]
        task = self.tasks[q["task_id"]]
        if answer:
            i, tree = q["index"], q["tree"]
            self.call({"replaced", "too late"}, "answerData", demand_id, tree.leaves[i], b"\xb1" * 32, tree.proof(i),
                      sender=task["worker"])
        else:
            self.call({"response open"}, "claimDataFault", demand_id, sender=self.requesters[0])
        self.sync()

    # -------------------------------------------------------------- audits

    @precondition(lambda self: self.ids(a.SUBMITTED))
    @rule(sel=pick, salt=pick)
    def audit(self, sel, salt):
        task_id = self.pick_from(self.ids(a.SUBMITTED), sel)
        task = self.tasks[task_id]
        boa.env.time_travel(blocks=2)
        self.call({"window closed", "assigned", "too early"}, "assignAuditors", task_id, sender=self.requesters[0])
        for auditor in self.market.auditors(task_id):
            s = salt.to_bytes(32, "big")
            leaf = task["tree"].leaves[audit_segment(task_id, s, len(task["tree"])) + 1]
            out = self.call({"window closed", "not assigned", "already committed", "not submitted"}, "commitAudit",
                            task_id, audit_commitment(task_id, leaf, s, auditor), sender=auditor)
            if out is not None:
                task.setdefault("audits", {})[auditor] = (leaf, s, task["tree"])

    @precondition(lambda self: self.ids(a.FINALIZED))
    @rule(sel=pick)
    def reveal_audits(self, sel):
        task_id = self.pick_from(self.ids(a.FINALIZED), sel)
        for auditor, (leaf, s, tree) in list(self.tasks[task_id].get("audits", {}).items()):
            seg = tree.leaves.index(leaf)
            self.call({"audit closed", "no commit", "bad reveal"}, "revealAudit", task_id, leaf, tree.proof(seg), s,
                      sender=auditor)

    @precondition(lambda self: [t for t in self.ids(a.FINALIZED) if self.tasks[t]["audit"] == "open"])
    @rule(sel=pick)
    def close_audit(self, sel):
        task_id = self.pick_from([t for t in self.ids(a.FINALIZED) if self.tasks[t]["audit"] == "open"], sel)
        if self.call({"reveal open"}, "closeAudit", task_id, sender=self.workers[0]) is not None:
            self.tasks[task_id]["audit"] = "closed"

    # -------------------------------------------------------------- verifiers and money

    @rule(who=pick, extra=st.sampled_from([0, 1, a.ETHER]))
    def register(self, who, extra):
        verifier = self.pick_from(self.verifiers, who)
        if self.call({"unregistering"}, "registerVerifier", 0, value=self.market.minVerifierStake() + extra,
                     sender=verifier) is not None:
            self.registered[verifier] = 0

    @precondition(lambda self: 0 in self.registered.values())
    @rule(who=pick)
    def unregister(self, who):
        verifier = self.pick_from([v for v, until in self.registered.items() if until == 0], who)
        self.call(set(), "unregister", sender=verifier)
        self.registered[verifier] = self.market.unbondingUntil(verifier)

    @precondition(lambda self: any(self.registered.values()))
    @rule(who=pick)
    def withdraw_stake(self, who):
        verifier = self.pick_from([v for v, until in self.registered.items() if until], who)
        if self.call({"cooling down", "on a jury"}, "withdrawStake", sender=verifier) is not None:
            del self.registered[verifier]

    @rule(who=pick)
    def withdraw(self, who):
        account = self.pick_from(self.everyone, who)
        credit = self.credit(account)
        if self.call({"nothing to withdraw"}, "withdraw", sender=account) is not None:
            self.withdrawn += credit

    @rule(seconds=st.sampled_from([1, 60, 121, 301, 601, 1200]))
    def wait(self, seconds):
        a.advance(seconds)

    # -------------------------------------------------------------- invariants

    def credit(self, account: str) -> int:
        return a.mapping_value(self.market, self.credits_slot, account) % 2**255  # bit 255: withdrew before

    @invariant()
    def every_wei_is_accounted_for(self):
        escrow = sum(c["bond"] for c in self.commits.values()) + sum(d["bond"] for d in self.disputes.values())
        escrow += self.market.minChallengeBond() * len(self.demands)
        for task in self.tasks.values():
            if task["status"] in (a.OPEN, a.CLAIMED, a.SUBMITTED):
                escrow += task["reward"]
            if task["status"] in HOLDS_STAKE:
                escrow += task["stake"]
            if task["status"] == a.FINALIZED and task["audit"] == "open":
                escrow += task["reward"] * self.fee_bps // 10_000
        paid = sum(self.market.getAudit(t).paid for t in self.ids(a.FINALIZED) if self.tasks[t]["audit"] == "open"
                   and self.market.getAudit(t).round == self.tasks[t]["round"])
        stakes = sum(a.mapping_value(self.market, self.stakes_slot, v) for v in self.verifiers)
        credits = sum(map(self.credit, self.everyone))
        balance = boa.env.get_balance(self.market.address)
        assert balance == escrow - paid + stakes + credits
        assert balance == self.deposited - self.withdrawn

    # -------------------------------------------------------------- the end of every sequence

    def end_everything(self):
        """Drive everything to its end, withdraw everything: the market must hold 0."""
        owner = self.requesters[0]
        for _ in range(12):
            a.advance(max(CLAIM, TRAIN, WINDOW) + self.market.revealPeriod() + self.market.responsePeriod() + 1)
            for commit_id in list(self.commits):
                self.call(set(), "expireChallenge", commit_id, sender=owner)
                del self.commits[commit_id]
            for demand_id in list(self.demands):
                self.call(set(), "claimDataFault", demand_id, sender=owner)
            for dispute_id in list(self.disputes):
                for _ in range(3):  # a draw moves on if its epoch has passed
                    if self.market.getDispute(dispute_id).commitDeadline:
                        break
                    boa.env.time_travel(blocks=2)
                    self.call({"too early"}, "drawJury", dispute_id, sender=owner)
                a.advance(self.market.commitPeriod() + self.market.revealPeriod() + 1)
                self.call(set(), "resolve", dispute_id, sender=owner)
            self.sync()
            for task_id, task in self.tasks.items():
                if task["status"] == a.OPEN:
                    self.call(set(), "cancelTask", task_id, sender=task["requester"])
                elif task["status"] == a.CLAIMED:
                    self.call(set(), "expireClaim", task_id, sender=owner)
                elif task["status"] == a.SUBMITTED and not (self.disputes or self.demands):
                    self.call(set(), "finalize", task_id, sender=owner)
                elif task["status"] == a.FINALIZED and task["audit"] == "open":
                    self.call({"reveal open"}, "closeAudit", task_id, sender=owner)
            self.sync()
            for task in self.tasks.values():
                if task["status"] == a.FINALIZED and task["audit"] == "open" and self.market.getAudit(
                        next(t for t, x in self.tasks.items() if x is task)).closed:
                    task["audit"] = "closed"
            if all(t["status"] == a.CANCELLED or (t["status"] == a.FINALIZED and t["audit"] == "closed")
                   for t in self.tasks.values()) and not (self.commits or self.disputes or self.demands):
                break
        assert not (self.commits or self.disputes or self.demands)
        assert all(t["status"] in (a.CANCELLED, a.FINALIZED) for t in self.tasks.values())
        for verifier, until in self.registered.items():
            assert self.market.jurorDuties(verifier) == 0
            if until == 0:
                self.call(set(), "unregister", sender=verifier)
        a.advance(self.market.unbondingPeriod())
        for verifier in self.registered:
            self.call(set(), "withdrawStake", sender=verifier)
            assert self.market.verifierStake(verifier) == 0
        assert self.market.totalActiveStake() == 0
        for account in self.everyone:
            if self.market.credits(account):
                self.withdrawn += a.withdraw_all(self.market, account)
        assert boa.env.get_balance(self.market.address) == 0
        assert self.withdrawn == self.deposited
        assert self.market.openTaskCount() == 0


@pytest.mark.parametrize("target", range(TARGETS))
def test_random_market_sequences_conserve_funds(market, target):
    accounts = tuple([a.actor(0) for _ in range(k)] for k in (2, 3, 2, 8))
    run_state_machine_as_test(
        lambda: MarketMachine(market, accounts),
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck), phases=PHASES),
    )
