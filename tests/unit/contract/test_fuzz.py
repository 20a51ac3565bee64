"""Random sequences of market actions keep every wei accounted for and leave nothing stuck.

Sequences (hypothesis examples) per run: IDLEGRID_FUZZ_EXAMPLES (default 2000), STEPS steps each.
Every sequence ends by driving all tasks and verifiers to their end and withdrawing every credit:
the market must then hold exactly 0 wei.
"""

from __future__ import annotations

import boa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.unit.contract import actions as a

STEPS = 25
ENDED = (a.FINALIZED, a.CANCELLED)
HOLDS_STAKE = (a.CLAIMED, a.SUBMITTED, a.CHALLENGED, a.ACCEPTED)
# short timeouts, so that random waits cross them often
CLAIM, TRAIN, WINDOW = 300, 600, 300
pick = st.integers(min_value=0, max_value=2**16)


class MarketMachine(RuleBasedStateMachine):
    """A model of tasks, verifiers and deposits; after every step the contract's books must
    add up to its balance: escrowed rewards + worker stakes + bonds + verifier stakes + credits."""

    def __init__(self, market, accounts):
        super().__init__()
        self.market = market
        self.requesters, self.workers, self.challengers, self.verifiers = accounts
        self.everyone = [x for group in accounts for x in group]
        self.credits_slot = a.storage_slot(market, "credits")
        self.stakes_slot = a.storage_slot(market, "verifierStake")
        self.min_bond = market.minChallengeBond()
        self.min_verifier_stake = market.minVerifierStake()
        self.unbonding = market.unbondingPeriod()
        self.anchor = boa.env.anchor()  # each sequence starts from the same deployment
        self.anchor.__enter__()
        for account in self.everyone:
            boa.env.set_balance(account, 10**6 * a.ETHER)
        self.tasks: dict[int, dict] = {}
        self.unbonding_until: dict[str, int] = {}  # verifier -> 0 (active) or its unbonding end
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

    def drawn(self) -> list[int]:
        return [t for t in self.ids(a.CHALLENGED) if self.tasks[t].get("jury") is not None]

    def sync(self, task_id: int) -> None:
        chain = self.market.getTask(task_id)
        task = self.tasks[task_id]
        task.update(status=chain.status, deadline=chain.deadline, worker=chain.worker)
        if chain.status != a.CHALLENGED:
            task["jury"] = None

    def expect_revert(self, reason: str, fn_name: str, *args, sender, value: int = 0) -> None:
        assert a.revert_reason(self.market, fn_name, *args, sender=sender, value=value) == reason

    def on_jury(self, verifier: str) -> bool:
        return any(verifier in (self.tasks[t]["jury"] or ()) for t in self.drawn())

    # -------------------------------------------------------------- tasks

    @rule(who=pick, reward=st.sampled_from([1, 10**9, a.ETHER // 3]), stake=st.sampled_from([1, 10**15, a.ETHER]))
    def post(self, who, reward, stake):
        requester = self.requesters[who % len(self.requesters)]
        task_id = self.market.postTask(a.SPEC_HASH, a.SPEC_URI, stake, CLAIM, TRAIN, WINDOW, value=reward,
                                       sender=requester)
        self.deposited += reward
        self.tasks[task_id] = {"status": a.OPEN, "requester": requester, "reward": reward, "stake": stake,
                                   "deadline": self.now() + CLAIM, "jury": None}

    @precondition(lambda self: self.ids(a.OPEN))
    @rule(sel=pick, by_requester=st.booleans())
    def cancel(self, sel, by_requester):
        ids = self.ids(a.OPEN)
        task_id = ids[sel % len(ids)]
        requester = self.tasks[task_id]["requester"]
        if not by_requester:
            self.expect_revert("not requester", "cancelTask", task_id, sender=self.workers[0])
            return
        self.market.cancelTask(task_id, sender=requester)
        self.sync(task_id)

    @precondition(lambda self: self.ids(a.OPEN))
    @rule(sel=pick, who=pick)
    def claim(self, sel, who):
        ids = self.ids(a.OPEN)
        task_id = ids[sel % len(ids)]
        task = self.tasks[task_id]
        worker = self.workers[who % len(self.workers)]
        if self.now() > task["deadline"]:
            self.expect_revert("claim closed", "claimTask", task_id, value=task["stake"], sender=worker)
            return
        self.market.claimTask(task_id, value=task["stake"], sender=worker)
        self.deposited += task["stake"]
        self.sync(task_id)

    @precondition(lambda self: self.ids(a.CLAIMED))
    @rule(sel=pick)
    def expire(self, sel):
        ids = self.ids(a.CLAIMED)
        task_id = ids[sel % len(ids)]
        caller = self.challengers[0]
        if self.now() <= self.tasks[task_id]["deadline"]:
            self.expect_revert("not expired", "expireClaim", task_id, sender=caller)
            return
        self.market.expireClaim(task_id, sender=caller)
        self.sync(task_id)

    @precondition(lambda self: self.ids(a.CLAIMED))
    @rule(sel=pick, n=st.integers(min_value=2, max_value=9))
    def submit(self, sel, n):
        ids = self.ids(a.CLAIMED)
        task_id = ids[sel % len(ids)]
        task = self.tasks[task_id]
        tree = a.MerkleTree(a.leaves(n, task_id.to_bytes(4, "big")))
        args = (task_id, tree.root, n, a.RESULT_URI)
        if self.now() > task["deadline"]:
            self.expect_revert("too late", "submitResult", *args, sender=task["worker"])
            return
        self.market.submitResult(*args, sender=task["worker"])
        task["tree"] = tree
        self.sync(task_id)

    @precondition(lambda self: self.ids(a.SUBMITTED, a.ACCEPTED))
    @rule(sel=pick)
    def finalize(self, sel):
        ids = self.ids(a.SUBMITTED, a.ACCEPTED)
        task_id = ids[sel % len(ids)]
        task = self.tasks[task_id]
        caller = self.requesters[0]
        if task["status"] == a.SUBMITTED and self.now() <= task["deadline"]:
            self.expect_revert("window open", "finalize", task_id, sender=caller)
            return
        self.market.finalize(task_id, sender=caller)
        self.sync(task_id)

    # -------------------------------------------------------------- disputes

    @precondition(lambda self: self.ids(a.SUBMITTED))
    @rule(sel=pick, who=pick, seg=pick)
    def challenge(self, sel, who, seg):
        ids = self.ids(a.SUBMITTED)
        task_id = ids[sel % len(ids)]
        task = self.tasks[task_id]
        tree = task["tree"]
        segment = seg % (len(tree) - 1)
        challenger = self.challengers[who % len(self.challengers)]
        bond = max(self.min_bond, task["stake"])
        args = (task_id, segment, tree.leaves[segment], tree.proof(segment), tree.leaves[segment + 1],
                tree.proof(segment + 1))
        if self.now() > task["deadline"]:
            self.expect_revert("window closed", "challenge", *args, value=bond, sender=challenger)
            return
        self.market.challenge(*args, value=bond, sender=challenger)
        self.deposited += bond
        task.update(bond=bond, challenger=challenger)
        self.sync(task_id)

    @precondition(lambda self: len(self.ids(a.CHALLENGED)) > len(self.drawn()))
    @rule(sel=pick, blocks=st.sampled_from([1, 2, 300]))
    def draw_jury(self, sel, blocks):
        ids = [t for t in self.ids(a.CHALLENGED) if self.tasks[t]["jury"] is None]
        task_id = ids[sel % len(ids)]
        task = self.tasks[task_id]
        caller = self.requesters[0]
        boa.env.time_travel(blocks=blocks)
        if boa.env.evm.patch.block_number <= self.market.getDispute(task_id).drawBlock:
            self.expect_revert("too early", "drawJury", task_id, sender=caller)
            return
        self.market.drawJury(task_id, sender=caller)
        dispute = self.market.getDispute(task_id)
        if not dispute.commitDeadline:  # the draw block's hash had expired: drawn later
            return
        jury = list(dispute.jury)
        assert len(set(jury)) == len(jury) <= self.market.jurySize()
        assert not set(jury) & {task["worker"], task["challenger"]}
        assert all(self.unbonding_until.get(j) == 0 for j in jury)
        task.update(jury=jury, votes={}, revealed=set(), commit_by=dispute.commitDeadline,
                    reveal_by=dispute.revealDeadline)

    @precondition(lambda self: any(self.tasks[t]["jury"] for t in self.drawn()))
    @rule(sel=pick, who=pick, honest=st.booleans())
    def commit(self, sel, who, honest):
        ids = [t for t in self.drawn() if self.tasks[t]["jury"]]
        task = self.tasks[task_id := ids[sel % len(ids)]]
        juror = task["jury"][who % len(task["jury"])]
        vote = a.commitment(honest, a.salt_of(juror), juror)
        if self.now() > task["commit_by"]:
            self.expect_revert("commit closed", "commitVote", task_id, vote, sender=juror)
        elif juror in task["votes"]:
            self.expect_revert("already committed", "commitVote", task_id, vote, sender=juror)
        else:
            self.market.commitVote(task_id, vote, sender=juror)
            task["votes"][juror] = honest

    @precondition(lambda self: any(self.tasks[t]["votes"] for t in self.drawn()))
    @rule(sel=pick, who=pick)
    def reveal(self, sel, who):
        ids = [t for t in self.drawn() if self.tasks[t]["votes"]]
        task = self.tasks[task_id := ids[sel % len(ids)]]
        juror = list(task["votes"])[who % len(task["votes"])]
        args = (task_id, task["votes"][juror], a.salt_of(juror))
        if self.now() <= task["commit_by"]:
            self.expect_revert("commit open", "revealVote", *args, sender=juror)
        elif self.now() > task["reveal_by"]:
            self.expect_revert("reveal closed", "revealVote", *args, sender=juror)
        elif juror in task["revealed"]:
            self.expect_revert("already revealed", "revealVote", *args, sender=juror)
        else:
            self.market.revealVote(*args, sender=juror)
            task["revealed"].add(juror)

    @precondition(lambda self: self.drawn())
    @rule(sel=pick)
    def resolve(self, sel):
        ids = self.drawn()
        task_id = ids[sel % len(ids)]
        caller = self.workers[0]
        if self.now() <= self.tasks[task_id]["reveal_by"]:
            self.expect_revert("reveal open", "resolve", task_id, sender=caller)
            return
        self.market.resolve(task_id, sender=caller)
        self.sync(task_id)

    # -------------------------------------------------------------- verifiers and money

    @rule(who=pick, extra=st.sampled_from([0, 1, a.ETHER]))
    def register(self, who, extra):
        verifier = self.verifiers[who % len(self.verifiers)]
        amount = self.min_verifier_stake + extra
        if self.unbonding_until.get(verifier):
            self.expect_revert("unregistering", "registerVerifier", value=amount, sender=verifier)
            return
        self.market.registerVerifier(value=amount, sender=verifier)
        self.unbonding_until[verifier] = 0
        self.deposited += amount

    @precondition(lambda self: 0 in self.unbonding_until.values())
    @rule(who=pick)
    def unregister(self, who):
        active = [v for v, until in self.unbonding_until.items() if until == 0]
        verifier = active[who % len(active)]
        self.market.unregister(sender=verifier)
        self.unbonding_until[verifier] = self.now() + self.unbonding

    @precondition(lambda self: any(self.unbonding_until.values()))
    @rule(who=pick)
    def withdraw_stake(self, who):
        leaving = [v for v, until in self.unbonding_until.items() if until]
        verifier = leaving[who % len(leaving)]
        if self.now() < self.unbonding_until[verifier]:
            self.expect_revert("cooling down", "withdrawStake", sender=verifier)
        elif self.on_jury(verifier):
            self.expect_revert("on a jury", "withdrawStake", sender=verifier)
        else:
            self.market.withdrawStake(sender=verifier)
            del self.unbonding_until[verifier]

    @rule(who=pick)
    def withdraw(self, who):
        account = self.everyone[who % len(self.everyone)]
        if self.credit(account) == 0:
            self.expect_revert("nothing to withdraw", "withdraw", sender=account)
            return
        self.withdrawn += a.withdraw_all(self.market, account)

    @rule(seconds=st.sampled_from([1, 60, 121, 301, 601, 1200]))
    def wait(self, seconds):
        a.advance(seconds)

    # -------------------------------------------------------------- invariants

    def credit(self, account: str) -> int:
        return a.mapping_value(self.market, self.credits_slot, account)

    @invariant()
    def every_wei_is_accounted_for(self):
        escrow = 0
        for task in self.tasks.values():
            if task["status"] not in ENDED:
                escrow += task["reward"]
            if task["status"] in HOLDS_STAKE:
                escrow += task["stake"]
            if task["status"] == a.CHALLENGED:
                escrow += task["bond"]
        stakes = sum(a.mapping_value(self.market, self.stakes_slot, v) for v in self.verifiers)
        credits = sum(map(self.credit, self.everyone))
        balance = boa.env.get_balance(self.market.address)
        assert balance == escrow + stakes + credits
        assert balance == self.deposited - self.withdrawn

    # -------------------------------------------------------------- the end of every sequence

    def end_everything(self):
        """Drive every task and verifier to its end, withdraw everything: the market must hold 0."""
        for _ in range(10):
            unfinished = [t for t in self.tasks if self.tasks[t]["status"] not in ENDED]
            if not unfinished:
                break
            a.advance(max(CLAIM, TRAIN, WINDOW) + 1)
            for task_id in unfinished:
                self.end_task(task_id)
        assert all(task["status"] in ENDED for task in self.tasks.values())
        for verifier, until in self.unbonding_until.items():
            assert self.market.jurorDuties(verifier) == 0
            if until == 0:
                self.market.unregister(sender=verifier)
        a.advance(self.unbonding)
        for verifier in self.unbonding_until:
            self.market.withdrawStake(sender=verifier)
            assert self.market.verifierStake(verifier) == 0
        assert self.market.totalActiveStake() == 0
        self.every_wei_is_accounted_for()
        for account in self.everyone:
            if self.market.credits(account):
                self.withdrawn += a.withdraw_all(self.market, account)
        assert boa.env.get_balance(self.market.address) == 0
        assert self.withdrawn == self.deposited
        assert self.market.openTaskCount() == 0

    def end_task(self, task_id):
        task = self.tasks[task_id]
        status = task["status"]
        if status == a.OPEN:
            self.market.cancelTask(task_id, sender=task["requester"])
        elif status == a.CLAIMED:
            self.market.expireClaim(task_id)
        elif status in (a.SUBMITTED, a.ACCEPTED):
            self.market.finalize(task_id)
        elif status == a.CHALLENGED:
            if task["jury"] is None:
                a.draw(self.market, task_id)
            a.advance(self.market.commitPeriod() + self.market.revealPeriod() + 1)
            self.market.resolve(task_id)
        self.sync(task_id)


def test_random_market_sequences_conserve_funds(market):
    accounts = tuple([a.actor(0) for _ in range(k)] for k in (2, 3, 2, 5))
    run_state_machine_as_test(
        lambda: MarketMachine(market, accounts),
        settings=settings(max_examples=a.FUZZ_EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
