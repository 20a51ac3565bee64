"""Acting on a segment that does not hold up, on TaskMarket v2: a two-step challenge, and data demands.

A challenge is committed first (``commitChallenge``: the bond and a hash of the segment, a
private salt and our address) and revealed with both Merkle proofs from a later block, so a
copied transaction wins nothing. A checkpoint (or the manifest) that cannot be downloaded is not
challenged: it is demanded on chain (``demandData``), and the worker answers within
``responsePeriod`` or loses its stake to us (``claimDataFault``); once it answered, the checkpoint
is fetched from the blob address the answer fixed on chain (:mod:`.answers`) and judged on its
content: missing or wrong there, it is challenged as bad data (a second demand would only pay the
worker another bond for the same answer).

Every salt and every proof is kept in the job's history detail before the transaction that uses
it is sent, and each step first looks on chain for what a crash may have sent already, so a
restarted verifier finishes what it started.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from web3.types import TxReceipt

from engine.chain.errors import ContractRevert
from engine.chain.records import Challenged, MarketEvent
from engine.chain.records_v2 import ChallengeCommitted, ChallengeExpired, DataAnswered, DataDemanded, DataFault
from engine.events import Kind
from engine.history import LedgerKind
from engine.units import format_eth
from engine.verifier.base import BlockNotYet
from engine.verifier.evidence import SegmentCheck
from engine.verifier.stake_v2 import StakeV2
from engine.verifier.states import AuditPhase, VerifierState

E = TypeVar("E", bound=MarketEvent)


class ChallengerV2(StakeV2):
    """Challenges and data demands of one audit (``detail["challenge"]``, ``detail["audit"]["demand"]``)."""

    # ------------------------------------------------------------ challenge: commit, then reveal

    def _start_challenge(self, task_id: int, audit: dict[str, Any], check: SegmentCheck) -> bool:
        challenge = {"segment": check.segment, "verdict": check.verdict.value, "reason": check.detail,
                     "bond": self.market.challenge_bond(task_id), "salt": os.urandom(32).hex(),
                     "leaf_a": check.leaf_a.hex(), "proof_a": [p.hex() for p in check.proof_a],
                     "leaf_b": check.leaf_b.hex(), "proof_b": [p.hex() for p in check.proof_b],
                     "commit_id": None, "commit_block": None, "dispute_id": None}
        audit["phase"] = AuditPhase.CHALLENGE
        self._set(task_id, VerifierState.CHALLENGED, check.detail, audit=audit, challenge=challenge)
        return self._challenge_step(task_id, audit)

    def _challenge_step(self, task_id: int, audit: dict[str, Any]) -> bool:
        job = self._job(task_id)
        challenge = dict(job.detail["challenge"]) if job is not None else {}
        if challenge.get("commit_id") is None:
            return self._commit_challenge(task_id, audit, challenge)
        return self._reveal_challenge(task_id, audit, challenge)

    def _commit_challenge(self, task_id: int, audit: dict[str, Any], challenge: dict[str, Any]) -> bool:
        mine = self._mine(ChallengeCommitted, task_id, audit["round"], lambda e: e.challenger == self.address)
        if mine is None:
            call = self.market.commit_challenge(task_id, challenge["segment"], bytes.fromhex(challenge["salt"]),
                                                bond=challenge["bond"])
            receipt = self._try(call, task_id, "commitChallenge", audit, "challenge refused")
            if receipt is None:
                return True
            mine = _one(self.market.events_in(receipt), ChallengeCommitted)
        challenge["commit_id"], challenge["commit_block"] = mine.commit_id, mine.block_number
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond", mine.bond, tx_hash=mine.tx_hash)
        self._update(task_id, challenge=challenge)
        self._emit(Kind.NOTICE, f"committed to challenge segment {challenge['segment']} with a bond of "
                                f"{format_eth(mine.bond, digits=6)} ETH: {challenge['reason']}", task_id,
                   {"state": VerifierState.CHALLENGED, "tx_hash": mine.tx_hash})
        return True

    def _reveal_challenge(self, task_id: int, audit: dict[str, Any], challenge: dict[str, Any]) -> bool:
        self._past_block(challenge["commit_block"], "the challenge's commitment")
        mine = self._mine(Challenged, task_id, challenge["commit_block"], lambda e: e.challenger == self.address)
        if mine is None:
            call = self.market.reveal_challenge(
                challenge["commit_id"], challenge["segment"], bytes.fromhex(challenge["leaf_a"]),
                [bytes.fromhex(p) for p in challenge["proof_a"]], bytes.fromhex(challenge["leaf_b"]),
                [bytes.fromhex(p) for p in challenge["proof_b"]], bytes.fromhex(challenge["salt"]))
            receipt = self._try(call, task_id, "revealChallenge", audit, "challenge reveal refused")
            if receipt is None:
                self._refund_if_replaced(task_id, challenge)
                return True
            mine = _one(self.market.events_in(receipt), Challenged)
        challenge["dispute_id"] = mine.dispute_id
        audit["phase"] = AuditPhase.DONE
        self._update(task_id, audit=audit, challenge=challenge)
        self._cursor.disputes.add(mine.dispute_id)
        self._cursor.save()
        self._emit(Kind.NOTICE, f"challenged segment {challenge['segment']}: dispute {mine.dispute_id} opened "
                                f"(jury drawn from block {mine.draw_block})", task_id,
                   {"state": VerifierState.CHALLENGED, "tx_hash": mine.tx_hash, "dispute_id": mine.dispute_id,
                    "draw_block": mine.draw_block})
        return True

    def _refund_if_replaced(self, task_id: int, challenge: dict[str, Any]) -> None:
        """A commitment whose result was replaced before the reveal (another dispute won) gets
        its bond back through ``expireChallenge``."""
        if self.market.get_task(task_id).submit_block == self._job_round(task_id):
            return
        receipt = self._send(self.market.expire_challenge(challenge["commit_id"]), task_id, "expireChallenge")
        expired = _one(self.market.events_in(receipt), ChallengeExpired)
        if expired.refunded:
            self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond_returned", challenge["bond"],
                                    tx_hash=expired.tx_hash)
            self._emit(Kind.LOG, "the result was replaced before the challenge's reveal: bond back", task_id)

    def _job_round(self, task_id: int) -> int | None:
        job = self._job(task_id)
        return (job.detail.get("audit") or {}).get("round") if job is not None else None

    # ------------------------------------------------------------ data demands

    def _start_demand(self, task_id: int, audit: dict[str, Any], index: int, why: str) -> bool:
        audit["phase"] = AuditPhase.DEMAND
        audit["demand"] = {"index": index, "why": why, "bond": self.market.params().min_challenge_bond,
                           "demand_id": None, "deadline": None, "answered": None}
        self._set(task_id, VerifierState.AUDITING, why, audit=audit)
        return self._demand_step(task_id, audit)

    def _demand_step(self, task_id: int, audit: dict[str, Any]) -> bool:
        demand = audit["demand"]
        if demand["demand_id"] is None:
            return self._demand(task_id, audit, demand)
        q = self.market.get_demand(demand["demand_id"])
        if q is not None and q.bond != 0:
            if self._now() <= q.deadline:
                return False
            try:
                self._send(self.market.claim_data_fault(q.demand_id), task_id, "claimDataFault")
            except ContractRevert as e:
                if e.reason != "no demand":  # else claimed by someone else meanwhile (anyone may)
                    raise
        fault = self._mine(DataFault, task_id, audit["round"], lambda e: e.demand_id == demand["demand_id"])
        if fault is not None:
            return self._data_fault(task_id, audit, fault)
        answer = self._mine(DataAnswered, task_id, audit["round"], lambda e: e.demand_id == demand["demand_id"])
        if answer is None:
            return False
        # the bond was paid to the worker with its answer (its ``demand_bond``): lost to us
        self.history.add_ledger(self.chain_id, self.market.address, task_id, LedgerKind.SLASHED, demand["bond"],
                                tx_hash=answer.tx_hash)
        demand["answered"] = answer.blob.hex()
        audit["phase"] = AuditPhase.REPLAY
        self._update(task_id, audit=audit)
        self._emit(Kind.LOG, f"the worker answered the demand for checkpoint {answer.index} (blob "
                             f"{answer.blob.hex()[:12]}): fetching it from there", task_id)
        return True

    def _demand(self, task_id: int, audit: dict[str, Any], demand: dict[str, Any]) -> bool:
        mine = self._mine(DataDemanded, task_id, audit["round"],
                          lambda e: e.demander == self.address and e.index == demand["index"])
        if mine is None:
            call = self.market.demand_data(task_id, demand["index"], bond=demand["bond"])
            receipt = self._try(call, task_id, "demandData", audit, "data demand refused")
            if receipt is None:
                return True
            mine = _one(self.market.events_in(receipt), DataDemanded)
        demand["demand_id"], demand["deadline"] = mine.demand_id, mine.deadline
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond", demand["bond"],
                                tx_hash=mine.tx_hash)
        self._update(task_id, audit=audit)
        self._emit(Kind.NOTICE, f"{demand['why']}: demanded checkpoint {mine.index} on chain (demand "
                                f"{mine.demand_id}); the worker must answer by {mine.deadline} or lose its stake",
                   task_id, {"state": VerifierState.AUDITING, "tx_hash": mine.tx_hash})
        return True

    def _data_fault(self, task_id: int, audit: dict[str, Any], fault: DataFault) -> bool:
        demand = audit["demand"]
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond_returned", demand["bond"],
                                tx_hash=fault.tx_hash)
        if fault.slashed:
            self.history.add_ledger(self.chain_id, self.market.address, task_id, LedgerKind.DATA_FAULT, fault.slashed,
                                    tx_hash=fault.tx_hash)
        audit["phase"] = AuditPhase.DONE
        won = format_eth(fault.slashed, digits=6)
        outcome = (f"data fault: checkpoint {demand['index']} was never answered; "
                   f"the worker's stake of {won} ETH is ours")
        self._set(task_id, VerifierState.RESOLVED, outcome, audit=audit)
        self._emit(Kind.NOTICE, outcome, task_id, {"state": VerifierState.RESOLVED, "tx_hash": fault.tx_hash})
        return True

    # ------------------------------------------------------------ helpers

    def _set(self, task_id: int, state: VerifierState, outcome: str, **detail: Any) -> None:
        """The job's state and outcome, and ``detail`` parts. A job in jury duty keeps its state
        (the jury's loop finds its jobs by it): the audit's outcome then goes to its detail only."""
        job = self._job(task_id)
        if job is not None and job.state == VerifierState.JUROR:
            if "audit" in detail:
                detail["audit"] = {**detail["audit"], "outcome": outcome}
            self._update(task_id, **detail)
            return
        self._update(task_id, state=state, outcome=outcome, **detail)

    def _try(self, call: Any, task_id: int, action: str, audit: dict[str, Any], refused: str) -> TxReceipt | None:
        """Send a write of this audit; a revert ends the audit as missed (the window closed, the
        result was replaced...) and gives None."""
        try:
            return self._send(call, task_id, action)
        except ContractRevert as e:
            audit["phase"] = AuditPhase.DONE
            self._set(task_id, VerifierState.MISSED, f"{refused}: {e.reason}", audit=audit)
            self._emit(Kind.LOG, f"{refused} by the market: {e.reason}", task_id, {"state": VerifierState.MISSED})
            return None

    def _mine(self, cls: type[E], task_id: int, from_block: int, match: Callable[[E], bool]) -> E | None:
        """The latest ``cls`` event of the task from ``from_block`` on that ``match``es: what this
        account did already (before a crash, between journal and detail)."""
        found = [e for e in self.market.task_events(cls, task_id, from_block=from_block) if match(e)]
        return found[-1] if found else None

    def _past_block(self, number: int, what: str) -> None:
        """Wait until the head is past block ``number`` (with ``mine_for_seed``: mine it), as a
        call checked against ``block.number > number`` is estimated at the head."""
        head = self.market.clock.block_number()
        if head > number:
            return
        if not self.config.mine_for_seed:
            raise BlockNotYet(f"waiting for a block after {number} ({what})")
        self.market.clock.mine(number + 1 - head)


def _one(events: list[MarketEvent], cls: type[E]) -> E:
    found = [e for e in events if isinstance(e, cls)]
    if len(found) != 1:
        raise TypeError(f"expected one {cls.__name__} in the receipt, found {len(found)}")
    return found[0]
