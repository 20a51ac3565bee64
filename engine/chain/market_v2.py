"""The typed Python face of TaskMarket v2 (contracts/TaskMarketV2.vy): its devnet parameters, the
hashes its calls take, and :class:`TaskMarketV2`, the client.

The client is v1's (:mod:`engine.chain.contract`: the same :class:`ContractCall` with simulate,
estimate_gas, prepare and send, the same event decoding, poller and follower, the same revert
translation) with v2's calls and reads; its records and events are in :mod:`engine.chain.records_v2`.
Additive: the roles still talk to v1 through engine.chain.market until they are ported
(docs/contract.md, "Porting the clients").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from engine.chain.artifact import Artifact, artifact_path, load_artifact
from engine.chain.contract import ContractCall, MarketClient
from engine.chain.errors import ArtifactError
from engine.chain.market import DEVNET_PARAMS, ETHER
from engine.chain.market import vote_commitment as vote_commitment  # v2 commits votes the same way
from engine.chain.records import MarketEvent
from engine.chain.records_v2 import (
    EVENT_TYPES_V2,
    Audit,
    Demand,
    DisputeResolved,
    DisputeV2,
    JurorPenalized,
    MarketParamsV2,
    ResultSubmitted,
    TaskClaimed,
    TaskPosted,
    TaskStatusV2,
    TaskV2,
    VerifierInfo,
)
from engine.chain.records_v2 import (
    DisputeStatus as DisputeStatus,  # re-exported: it lived here before records_v2
)

# v1's devnet values, with the v2 ones that differ or are new.
DEVNET_PARAMS_V2: dict[str, int] = {
    **DEVNET_PARAMS,
    "jurySize": 5,
    "unbondingPeriod": 7200,
    "wrongVotePenalty": ETHER // 100,
    "maxDraws": 3,
    "epochLength": 3600,
    "responsePeriod": 600,
    "auditFeeBps": 1000,
    "auditorsPerTask": 1,
}
BPS = 10_000
STAKE_STEP = 256  # TaskMarketV2.vy: minStakeNow doubles with every STAKE_STEP active verifiers
PARAM_NAMES = ("minVerifierStake", "minChallengeBond", "jurySize", "commitPeriod", "revealPeriod",
               "unbondingPeriod", "nonRevealPenalty", "jurorRewardBps", "wrongVotePenalty", "maxDraws",
               "epochLength", "responsePeriod", "auditFeeBps", "auditorsPerTask")


def verification_fee(payment: int, audit_fee_bps: int) -> int:
    """The fee inside a task's payment, as the contract computes it (rounded down)."""
    return payment * audit_fee_bps // BPS


def payment_for(worker_reward: int, audit_fee_bps: int) -> int:
    """The least payment whose share for the worker (payment less the fee) is at least ``worker_reward``."""
    payment = -(-worker_reward * BPS // (BPS - audit_fee_bps))  # enough; the fee rounds down, so
    while payment - 1 - verification_fee(payment - 1, audit_fee_bps) >= worker_reward:  # less may do
        payment -= 1
    return payment


def fines_in(events: Sequence[MarketEvent], dispute_id: int) -> dict[str, int]:
    """The fines among ``events`` (one transaction's) levied on jurors of ``dispute_id``, by
    juror: a juror who did not reveal, or voted against the majority (``JurorPenalized``). A
    jury's members are distinct, so no juror is fined twice in one transaction."""
    return {e.juror: e.amount for e in events if isinstance(e, JurorPenalized) and e.dispute_id == dispute_id}


def winner_payout(market: MarketClient, event: DisputeResolved) -> int:
    """What a decided dispute paid its winner besides their own bond or stake back. ``resolve``
    credits the loser's bond or stake less ``jurorRewardBps`` of it (``slashed``), plus the fines
    of that resolve (read from its receipt), less what the majority's jurors got: ``slashed +
    fines - juror_share * majority``, the division's dust included, so the ledger matches the
    chain to the wei."""
    fines = fines_in(market.events_in(market.receipt(event.tx_hash)), event.dispute_id)
    majority = event.honest_votes if event.outcome == DisputeStatus.WORKER_WON else event.cheat_votes
    return event.slashed + sum(fines.values()) - event.juror_share * majority


def arithmetic_id(name: str | None) -> int:
    """The contract's 32-bit id of an exact-mode arithmetic (a spec's ``verification.arithmetic``):
    the first four bytes of keccak(name), 1 where those are zero; 0 (None) is tolerance mode. Every
    role derives it the same way: a requester posts it, a verifier registers with it."""
    if name is None:
        return 0
    return int.from_bytes(keccak(text=name)[:4], "big") or 1


def artifact_path_v2() -> Path:
    """resources/contracts/TaskMarketV2.json, next to v1's artifact."""
    return artifact_path().with_name("TaskMarketV2.json")


def load_artifact_v2() -> Artifact:
    """The shipped TaskMarketV2 artifact; missing or malformed -> ArtifactError."""
    return load_artifact(artifact_path_v2())


def challenge_commitment(task_id: int, segment: int, salt: bytes, challenger: str) -> bytes:
    """What ``commitChallenge`` takes: keccak256(abi_encode(taskId, segment, salt, challenger))."""
    return keccak(abi_encode(["uint256", "uint256", "bytes32", "address"], [task_id, segment, salt, challenger]))


def audit_commitment(task_id: int, leaf: bytes, salt: bytes, auditor: str) -> bytes:
    """What ``commitAudit`` takes: keccak256(abi_encode(taskId, leaf, salt, auditor))."""
    return keccak(abi_encode(["uint256", "bytes32", "bytes32", "address"], [task_id, leaf, salt, auditor]))


def audit_segment(task_id: int, salt: bytes, num_leaves: int) -> int:
    """The segment (leaf s -> s+1) an audit with ``salt`` replays: private until revealed."""
    return int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [salt, task_id])), "big") % (num_leaves - 1)


def constructor_args_v2(artifact: Artifact, overrides: dict[str, int]) -> dict[str, int]:
    """TaskMarketV2's constructor arguments by name, in its order, from DEVNET_PARAMS_V2 and ``overrides``."""
    ctor: dict[str, Any] = next((e for e in artifact.abi if e.get("type") == "constructor"), {"inputs": []})
    values = {**DEVNET_PARAMS_V2, **overrides}
    args = {}
    for arg in ctor["inputs"]:
        name = arg["name"].lstrip("_")
        if name not in values:
            raise ArtifactError(f"TaskMarketV2's constructor takes {name!r}, which the devnet does not set",
                                hint="add it to DEVNET_PARAMS_V2 in engine/chain/market_v2.py")
        args[name] = values[name]
    return args


class TaskMarketV2(MarketClient):
    """A client of one deployed TaskMarketV2, signing as ``signer`` (None: read-only).

    Tasks are addressed by task id; disputes, challenge commitments and data demands by the id
    their first call returned: read it from the receipt's event (``simulate`` only predicts it;
    another transaction mined first takes that id).
    """

    EVENT_TYPES = EVENT_TYPES_V2

    @classmethod
    def default_artifact(cls) -> Artifact:
        return load_artifact_v2()

    def _me(self) -> str:
        return self.sender_or_fail().address

    # ------------------------------------------------------------ reads

    def get_task(self, task_id: int) -> TaskV2:
        """The task (reverts "no task" for an id never posted)."""
        t = self._read("getTask", task_id)
        return TaskV2(task_id, t[0], t[1], t[2], t[3], TaskStatusV2(t[4]), t[5], t[6], t[7], t[8], t[9],
                      bytes(t[10]), *t[11:])

    def get_dispute(self, dispute_id: int) -> DisputeV2 | None:
        """The dispute with this id; None where there is none."""
        d = self._read("getDispute", dispute_id)
        if d[5] == DisputeStatus.NONE:
            return None
        return DisputeV2(dispute_id, d[0], d[1], d[2], d[3], d[4], DisputeStatus(d[5]), *d[6:])

    def get_demand(self, demand_id: int) -> Demand | None:
        """The data demand with this id; None where there is none."""
        q = self._read("getDemand", demand_id)
        if q[2] == "0x" + "00" * 20:
            return None
        return Demand(demand_id, *q)

    def get_audit(self, task_id: int) -> Audit:
        return Audit(task_id, *self._read("getAudit", task_id))

    def auditors(self, task_id: int) -> tuple[str, ...]:
        """The auditors assigned to the task's latest audited result."""
        return tuple(self._read("auditors", task_id))

    def verifier_arithmetic(self, account: str) -> int:
        return int(self._read("verifierArithmetic", to_checksum_address(account)))

    def verifier(self, account: str) -> VerifierInfo:
        """Everything the market knows of ``account`` as a verifier."""
        return VerifierInfo(to_checksum_address(account), self.verifier_stake(account),
                            self.verifier_arithmetic(account), self.unbonding_until(account),
                            self.juror_duties(account), self.is_verifier(account))

    def active_verifiers(self) -> int:
        return int(self._read("activeVerifiers"))

    def treasury(self) -> str:
        """Who receives the fines no juror can be paid (the deployer)."""
        return str(self._read("treasury"))

    def min_stake_now(self) -> int:
        """The least stake a new verifier registers with now (the contract's _min_stake_now:
        minVerifierStake doubled for every STAKE_STEP active verifiers)."""
        return int(self._read("minVerifierStake")) << (self.active_verifiers() // STAKE_STEP)

    def params(self) -> MarketParamsV2:
        return MarketParamsV2(*(int(self._read(name)) for name in PARAM_NAMES))

    def epoch_now(self) -> int:
        """The epoch of the latest block (stake changes weigh in draws from the next one on)."""
        return self.clock.latest() // int(self._read("epochLength"))

    def next_epoch_at(self) -> int:
        """The timestamp the next epoch starts at."""
        return (self.epoch_now() + 1) * int(self._read("epochLength"))

    def event_deadline(self, event: TaskPosted | TaskClaimed | ResultSubmitted) -> int:
        """The deadline v2's event leaves out: its block's timestamp plus the task's claim
        timeout (TaskPosted), train timeout (TaskClaimed) or challenge window (ResultSubmitted)."""
        if isinstance(event, TaskPosted):
            term = event.claim_timeout
        elif isinstance(event, TaskClaimed):
            term = self.get_task(event.task_id).train_timeout
        else:
            term = self.get_task(event.task_id).challenge_window
        return self.clock.timestamp(event.block_number) + term

    # ------------------------------------------------------------ requester

    def post_task(
        self, spec_hash: bytes, spec_uri: str, *, payment: int, worker_stake: int,
        claim_timeout: int, train_timeout: int, challenge_window: int, arithmetic: int = 0,
    ) -> ContractCall:
        """Escrow ``payment`` wei: the worker's reward plus the verification fee
        (:func:`payment_for` gives it from the reward). ``arithmetic``: 0 for tolerance mode,
        else the exact arithmetic every juror and auditor must have registered with.
        The id is the call's return value (``simulate``) and in the receipt's TaskPosted."""
        return self._call("postTask", spec_hash, spec_uri, worker_stake, claim_timeout, train_timeout,
                          challenge_window, arithmetic, value=payment)

    def close_audit(self, task_id: int) -> ContractCall:
        """revealPeriod after a final result's window: the unpaid fee back to the requester."""
        return self._call("closeAudit", task_id)

    # ------------------------------------------------------------ worker

    def answer_data(self, demand_id: int, leaf: bytes, blob: bytes, proof: Sequence[bytes]) -> ContractCall:
        """Answer a demand within responsePeriod: the leaf, its Merkle proof and its blob address."""
        return self._call("answerData", demand_id, leaf, blob, list(proof))

    # ------------------------------------------------------------ verifiers

    def register_verifier(self, stake: int, arithmetic: int = 0) -> ContractCall:
        """Join with ``stake`` wei (at least :meth:`min_stake_now`), replaying ``arithmetic``."""
        return self._call("registerVerifier", arithmetic, value=stake)

    def add_stake(self, amount: int) -> ContractCall:
        """Top up a registered verifier's stake (it weighs in draws from the next epoch on)."""
        return self._call("registerVerifier", self.verifier_arithmetic(self._me()), value=amount)

    def commit_challenge(self, task_id: int, segment: int, salt: bytes, *, bond: int | None = None) -> ContractCall:
        """Commit to challenging ``segment`` (keep ``salt`` to reveal from a later block); bond
        default: challengeBond. The commit id is the return value and in ChallengeCommitted."""
        bond = self.challenge_bond(task_id) if bond is None else bond
        commitment = challenge_commitment(task_id, segment, salt, self._me())
        return self._call("commitChallenge", task_id, commitment, value=bond)

    def reveal_challenge(
        self, commit_id: int, segment: int, leaf_a: bytes, proof_a: Sequence[bytes],
        leaf_b: bytes, proof_b: Sequence[bytes], salt: bytes,
    ) -> ContractCall:
        """Open the commitment (leaf ``segment`` -> ``segment + 1`` with both proofs): a dispute
        starts; its id is the return value and in Challenged. Gas is estimated at the head, so
        send once a block after the commit's is mined (else "same block")."""
        return self._call("revealChallenge", commit_id, segment, leaf_a, list(proof_a), leaf_b, list(proof_b),
                          salt)

    def expire_challenge(self, commit_id: int) -> ContractCall:
        return self._call("expireChallenge", commit_id)

    def demand_data(self, task_id: int, index: int, *, bond: int | None = None) -> ContractCall:
        """Demand checkpoint ``index`` (bond default: minChallengeBond); the id is in DataDemanded."""
        bond = int(self._read("minChallengeBond")) if bond is None else bond
        return self._call("demandData", task_id, index, value=bond)

    def claim_data_fault(self, demand_id: int) -> ContractCall:
        return self._call("claimDataFault", demand_id)

    def assign_auditors(self, task_id: int) -> ContractCall:
        """Draw the task's auditors (from the block after the submit on; may only move the seed)."""
        return self._call("assignAuditors", task_id)

    def commit_audit(self, task_id: int, leaf: bytes, salt: bytes) -> ContractCall:
        """Commit to the leaf replayed at the end of ``audit_segment(task_id, salt, n)``."""
        return self._call("commitAudit", task_id, audit_commitment(task_id, leaf, salt, self._me()))

    def reveal_audit(self, task_id: int, leaf: bytes, proof: Sequence[bytes], salt: bytes) -> ContractCall:
        """Once the result is final: ``proof`` is the leaf's at index ``segment + 1``."""
        return self._call("revealAudit", task_id, leaf, list(proof), salt)

