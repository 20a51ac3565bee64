"""The typed Python face of the TaskMarket contract.

Reads return dataclasses (:class:`Task`, :class:`Dispute`, ...). Writes return a
:class:`ContractCall` that the caller sends at once (``market.claim_task(7).send()``) or
prepares first so it can journal the signed transaction (``call.prepare()``, then
``market.sender.broadcast(prepared)`` / ``market.sender.wait(prepared)``, see
:mod:`engine.chain.sender`). Every event of the contract decodes into its own dataclass.
A revert leaves as :class:`ContractRevert` with the contract's reason, e.g.
``TaskMarket.claimTask reverted: wrong stake``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from engine.chain.artifact import Artifact, load_artifact
from engine.chain.contract import ContractCall as ContractCall
from engine.chain.contract import E as E  # shared with v2 (engine.chain.contract), re-exported
from engine.chain.contract import MarketClient
from engine.chain.contract import event_fields as event_fields
from engine.chain.contract import has_code as has_code
from engine.chain.contract import snake as snake
from engine.chain.errors import ArtifactError, ChainError, NotDeployed
from engine.chain.records import (  # records re-exported (X as X): the roles import them from here
    ETHER as ETHER,
)
from engine.chain.records import (
    EVENT_TYPES as EVENT_TYPES,
)
from engine.chain.records import (
    Challenged as Challenged,
)
from engine.chain.records import (
    ClaimExpired as ClaimExpired,
)
from engine.chain.records import (
    Dispute as Dispute,
)
from engine.chain.records import (
    DisputeResolved as DisputeResolved,
)
from engine.chain.records import (
    JurorPenalized as JurorPenalized,
)
from engine.chain.records import (
    JuryDrawDeferred as JuryDrawDeferred,
)
from engine.chain.records import (
    JuryDrawn as JuryDrawn,
)
from engine.chain.records import (
    MarketEvent as MarketEvent,
)
from engine.chain.records import (
    MarketParams as MarketParams,
)
from engine.chain.records import (
    ResultSubmitted as ResultSubmitted,
)
from engine.chain.records import (
    Reveal as Reveal,
)
from engine.chain.records import (
    Task as Task,
)
from engine.chain.records import (
    TaskCancelled as TaskCancelled,
)
from engine.chain.records import (
    TaskClaimed as TaskClaimed,
)
from engine.chain.records import (
    TaskFinalized as TaskFinalized,
)
from engine.chain.records import (
    TaskPosted as TaskPosted,
)
from engine.chain.records import (
    TaskReopened as TaskReopened,
)
from engine.chain.records import (
    TaskStatus as TaskStatus,
)
from engine.chain.records import (
    VerifierRegistered as VerifierRegistered,
)
from engine.chain.records import (
    VerifierStakeWithdrawn as VerifierStakeWithdrawn,
)
from engine.chain.records import (
    VerifierUnregistering as VerifierUnregistering,
)
from engine.chain.records import (
    Vote as Vote,
)
from engine.chain.records import (
    VoteCommitted as VoteCommitted,
)
from engine.chain.records import (
    VoteRevealed as VoteRevealed,
)
from engine.chain.records import (
    Withdrawn as Withdrawn,
)
from engine.chain.rpc import connect, translated
from engine.chain.sender import SendPolicy, Signer
from engine.chain.settings import NetworkSettings
from engine.chain.version import MarketVersion, market_version

if TYPE_CHECKING:
    from engine.chain.market_v2 import TaskMarketV2

# Constructor parameters of the devnet deployment (names as in the contract, less the "_").
DEVNET_PARAMS: dict[str, int] = {
    "minVerifierStake": ETHER // 10,
    "minChallengeBond": ETHER // 100,
    "jurySize": 3,
    "commitPeriod": 600,
    "revealPeriod": 600,
    "unbondingPeriod": 3600,
    "nonRevealPenalty": ETHER // 100,
    "jurorRewardBps": 2000,
}


def vote_commitment(worker_honest: bool, salt: bytes, juror: str) -> bytes:
    """What ``commitVote`` takes: keccak256(abi_encode(workerHonest, salt, juror))."""
    return keccak(abi_encode(["bool", "bytes32", "address"], [worker_honest, salt, juror]))


def constructor_args(artifact: Artifact, overrides: dict[str, int]) -> dict[str, int]:
    """The constructor's arguments by name, from DEVNET_PARAMS and ``overrides``."""
    ctor: dict[str, Any] = next((e for e in artifact.abi if e.get("type") == "constructor"), {"inputs": []})
    values = {**DEVNET_PARAMS, **overrides}
    args = {}
    for arg in ctor["inputs"]:
        name = arg["name"].lstrip("_")
        if name not in values:
            raise ArtifactError(f"TaskMarket's constructor takes {name!r}, which the devnet does not set",
                                hint="add it to DEVNET_PARAMS in engine/chain/market.py")
        args[name] = values[name]
    return args


class TaskMarket(MarketClient):
    """A client of one deployed TaskMarket (v1), signing as ``signer`` (None: read-only)."""

    EVENT_TYPES = EVENT_TYPES

    @classmethod
    def default_artifact(cls) -> Artifact:
        return load_artifact()

    # ------------------------------------------------------------ reads

    def get_task(self, task_id: int) -> Task:
        t = self._read("getTask", task_id)
        return Task(task_id, t[0], t[1], t[2], t[3], TaskStatus(t[4]), t[5], t[6], t[7], t[8], t[9],
                    bytes(t[10]), t[11])

    def get_dispute(self, task_id: int) -> Dispute | None:
        """The task's latest dispute, None if it never had one."""
        d = self._read("getDispute", task_id)
        if d[0] == 0:
            return None
        return Dispute(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], tuple(d[9]))

    def params(self) -> MarketParams:
        return MarketParams(*(self._read(name) for name in (
            "minVerifierStake", "minChallengeBond", "jurySize", "commitPeriod", "revealPeriod",
            "unbondingPeriod", "nonRevealPenalty", "jurorRewardBps")))

    # ------------------------------------------------------------ writes

    def post_task(
        self, spec_hash: bytes, spec_uri: str, *, reward: int, worker_stake: int,
        claim_timeout: int, train_timeout: int, challenge_window: int,
    ) -> ContractCall:
        """Escrow ``reward`` wei for a task; the id is in the receipt's TaskPosted event."""
        return self._call("postTask", spec_hash, spec_uri, worker_stake, claim_timeout, train_timeout,
                          challenge_window, value=reward)

    def register_verifier(self, stake: int) -> ContractCall:
        return self._call("registerVerifier", value=stake)

    def challenge(
        self, task_id: int, segment: int, leaf_a: bytes, proof_a: Sequence[bytes],
        leaf_b: bytes, proof_b: Sequence[bytes], *, bond: int | None = None,
    ) -> ContractCall:
        """Dispute segment ``segment`` (leaf ``segment`` -> ``segment + 1``); bond default: challengeBond."""
        bond = self.challenge_bond(task_id) if bond is None else bond
        return self._call("challenge", task_id, segment, leaf_a, list(proof_a), leaf_b, list(proof_b), value=bond)



def open_market(network: NetworkSettings, signer: Signer | None = None, *,
                policy: SendPolicy | None = None) -> TaskMarket | TaskMarketV2:
    """A client of the market named in ``network`` (the [network] settings or a profile),
    checked to exist and, where the profile records it, to run the expected code. A profile's
    confirmation depth applies to the event pollers (hand-written settings keep depth 0, as before).
    The bindings follow the code on chain (:mod:`engine.chain.version`): TaskMarketV2 where v2's
    runtime is deployed, TaskMarket (v1) otherwise, as before v2 existed."""
    from engine.chain.market_v2 import TaskMarketV2  # market_v2 imports this module
    if network.market_address is None:
        raise ChainError("no TaskMarket address is configured",
                         hint="pick a network with `idlegrid network use NAME`, or run `idlegrid devnet`")
    w3 = connect(network.rpc_url, expected_chain_id=network.chain_id, fallbacks=network.rpc_fallbacks)
    if not has_code(w3, network.market_address):
        raise NotDeployed(network.market_address, network.rpc_url)
    if network.code_hash is not None:
        check_code(w3, network.market_address, network.code_hash)
    if network.profile is not None or network.max_fee_per_gas is not None:
        # a real chain: a fee ceiling, and (from a profile) receipts counted once deep enough
        policy = replace(policy or SendPolicy(), max_fee_per_gas=network.max_fee_per_gas,
                         confirmations=network.confirmations if network.profile is not None else 0)
    cls = TaskMarketV2 if market_version(w3, network.market_address) is MarketVersion.V2 else TaskMarket
    return cls(w3, network.market_address, signer, policy=policy, deploy_block=network.deploy_block,
               log_range=network.log_range, confirmations=network.confirmations if network.profile is not None else 0)


def check_code(w3: Web3, address: str, expected: str) -> None:
    """Refuse a market whose runtime code is not the one the profile was made for."""
    with translated("eth_getCode"):
        actual = "0x" + keccak(bytes(w3.eth.get_code(to_checksum_address(address)))).hex()
    if actual.lower() != expected.lower():
        raise ChainError(f"the contract at {address} is not the TaskMarket this network profile names "
                         f"(code hash {actual[:18]}…, expected {expected[:18]}…)",
                         hint="the profile is stale or the node serves another chain: re-add the profile "
                              "with `idlegrid network add`")
