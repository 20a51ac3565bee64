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

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import TxReceipt

from engine.chain.artifact import Artifact, load_artifact
from engine.chain.clock import ChainClock
from engine.chain.errors import ArtifactError, ChainError, NotDeployed
from engine.chain.events import EventCursor, EventPoller, LogReader
from engine.chain.follower import LogFollower
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
from engine.chain.sender import PreparedTx, Sender, SendPolicy, Signer
from engine.chain.settings import NetworkSettings

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


E = TypeVar("E", bound=MarketEvent)


def snake(name: str) -> str:
    """``specURI`` -> ``spec_uri``, ``workerStake`` -> ``worker_stake``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _plain(value: Any) -> Any:
    """web3's HexBytes / lists as plain bytes / tuples."""
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


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


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class ContractCall:
    """One state-changing call, not yet sent."""

    market: TaskMarket
    function: str
    args: tuple[Any, ...]
    value: int = 0

    @property
    def tx(self) -> dict[str, Any]:
        data = self.market.contract.encode_abi(self.function, args=self.args)
        return {"to": self.market.address, "data": data, "value": self.value}

    def simulate(self) -> Any:
        """What the call would return now (``eth_call``); a revert raises ContractRevert."""
        fn = self.market.contract.get_function_by_name(self.function)(*self.args)
        with translated(self.function):
            return fn.call({"from": self.market.sender_or_fail().address, "value": self.value})

    def estimate_gas(self) -> int:
        return self.market.sender_or_fail().estimate_gas(self.tx, self.function)

    def prepare(self, *, nonce: int | None = None) -> PreparedTx:
        return self.market.sender_or_fail().prepare(self.tx, function=self.function, nonce=nonce)

    def send(self) -> TxReceipt:
        return self.market.sender_or_fail().send(self.tx, function=self.function)


class TaskMarket:
    """A client of one deployed TaskMarket, signing as ``signer`` (None: read-only)."""

    def __init__(
        self, w3: Web3, address: str, signer: Signer | None = None, *,
        policy: SendPolicy | None = None, artifact: Artifact | None = None,
        deploy_block: int = 0, log_range: int = 2_000, confirmations: int = 0,
    ) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.deploy_block = deploy_block  # no event of this market is older: scans start here
        self.logs = LogReader(w3, log_range)  # shared, so a window the node refused stays narrow
        self.confirmations = confirmations  # the profile's depth: pollers deliver no shallower event
        self.artifact = artifact or load_artifact()
        self.contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self.sender = Sender(w3, signer, policy) if signer is not None else None
        self._chain_id: int | None = None
        self._events = {
            bytes(keccak(text=_signature(e))): e for e in self.artifact.abi if e.get("type") == "event"
        }

    def with_signer(self, signer: Signer) -> TaskMarket:
        """The same market on the same connection, signing as ``signer``."""
        return TaskMarket(self.w3, self.address, signer, artifact=self.artifact, deploy_block=self.deploy_block,
                          log_range=self.logs.max_range, confirmations=self.confirmations)

    def sender_or_fail(self) -> Sender:
        if self.sender is None:
            raise ChainError("this TaskMarket client has no wallet, so it cannot send transactions")
        return self.sender

    # ------------------------------------------------------------ the chain under the market

    @property
    def clock(self) -> ChainClock:
        """Block numbers, hashes and timestamps of this market's chain."""
        return ChainClock(self.w3)

    def chain_id(self) -> int:
        """The chain's id (read once, then remembered)."""
        if self._chain_id is None:
            with translated("eth_chainId"):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def gas_price(self) -> int:
        """The current gas price in wei."""
        with translated("eth_gasPrice"):
            return int(self.w3.eth.gas_price)

    def balance(self, account: str) -> int:
        """The wallet balance of ``account`` in wei (not its credits on the market)."""
        with translated("eth_getBalance"):
            return int(self.w3.eth.get_balance(to_checksum_address(account)))

    def receipt(self, tx_hash: str) -> TxReceipt:
        """The receipt of a mined transaction."""
        with translated("eth_getTransactionReceipt"):
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]

    # ------------------------------------------------------------ reads

    def _read(self, function: str, *args: Any) -> Any:
        with translated(function):
            return self.contract.get_function_by_name(function)(*args).call()

    def get_task(self, task_id: int) -> Task:
        t = self._read("getTask", task_id)
        return Task(task_id, t[0], t[1], t[2], t[3], TaskStatus(t[4]), t[5], t[6], t[7], t[8], t[9],
                    bytes(t[10]), t[11])

    def task_count(self) -> int:
        return int(self._read("taskCount"))

    def open_task_count(self) -> int:
        return int(self._read("openTaskCount"))

    def open_tasks(self, offset: int = 0, limit: int = 100) -> list[int]:
        """One page (at most 100) of open task ids; the order changes as tasks are claimed."""
        return list(self._read("openTasks", offset, limit))

    def challenge_bond(self, task_id: int) -> int:
        return int(self._read("challengeBond", task_id))

    def get_dispute(self, task_id: int) -> Dispute | None:
        """The task's latest dispute, None if it never had one."""
        d = self._read("getDispute", task_id)
        if d[0] == 0:
            return None
        return Dispute(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], tuple(d[9]))

    def jury(self, task_id: int) -> tuple[str, ...]:
        return tuple(self._read("jury", task_id))

    def vote_of(self, task_id: int, juror: str) -> Vote:
        commitment, reveal = self._read("voteOf", task_id, to_checksum_address(juror))
        return Vote(bytes(commitment), Reveal(reveal))

    def credits(self, account: str) -> int:
        """Wei waiting for ``account`` to ``withdraw``."""
        return int(self._read("credits", to_checksum_address(account)))

    def verifier_stake(self, account: str) -> int:
        return int(self._read("verifierStake", to_checksum_address(account)))

    def unbonding_until(self, account: str) -> int:
        return int(self._read("unbondingUntil", to_checksum_address(account)))

    def juror_duties(self, account: str) -> int:
        return int(self._read("jurorDuties", to_checksum_address(account)))

    def total_active_stake(self) -> int:
        return int(self._read("totalActiveStake"))

    def is_verifier(self, account: str) -> bool:
        return bool(self._read("isVerifier", to_checksum_address(account)))

    def verify_proof(self, root: bytes, leaf: bytes, index: int, n: int, proof: Sequence[bytes]) -> bool:
        return bool(self._read("verifyProof", root, leaf, index, n, list(proof)))

    def params(self) -> MarketParams:
        return MarketParams(*(self._read(name) for name in (
            "minVerifierStake", "minChallengeBond", "jurySize", "commitPeriod", "revealPeriod",
            "unbondingPeriod", "nonRevealPenalty", "jurorRewardBps")))

    # ------------------------------------------------------------ writes

    def _call(self, function: str, *args: Any, value: int = 0) -> ContractCall:
        return ContractCall(self, function, args, value)

    def post_task(
        self, spec_hash: bytes, spec_uri: str, *, reward: int, worker_stake: int,
        claim_timeout: int, train_timeout: int, challenge_window: int,
    ) -> ContractCall:
        """Escrow ``reward`` wei for a task; the id is in the receipt's TaskPosted event."""
        return self._call("postTask", spec_hash, spec_uri, worker_stake, claim_timeout, train_timeout,
                          challenge_window, value=reward)

    def cancel_task(self, task_id: int) -> ContractCall:
        return self._call("cancelTask", task_id)

    def claim_task(self, task_id: int, stake: int | None = None) -> ContractCall:
        """Claim with ``stake`` wei (default: the task's worker stake, read from the chain)."""
        stake = self.get_task(task_id).worker_stake if stake is None else stake
        return self._call("claimTask", task_id, value=stake)

    def expire_claim(self, task_id: int) -> ContractCall:
        return self._call("expireClaim", task_id)

    def submit_result(self, task_id: int, merkle_root: bytes, num_leaves: int, result_uri: str) -> ContractCall:
        return self._call("submitResult", task_id, merkle_root, num_leaves, result_uri)

    def finalize(self, task_id: int) -> ContractCall:
        return self._call("finalize", task_id)

    def withdraw(self) -> ContractCall:
        return self._call("withdraw")

    def register_verifier(self, stake: int) -> ContractCall:
        return self._call("registerVerifier", value=stake)

    def unregister(self) -> ContractCall:
        return self._call("unregister")

    def withdraw_stake(self) -> ContractCall:
        return self._call("withdrawStake")

    def challenge(
        self, task_id: int, segment: int, leaf_a: bytes, proof_a: Sequence[bytes],
        leaf_b: bytes, proof_b: Sequence[bytes], *, bond: int | None = None,
    ) -> ContractCall:
        """Dispute segment ``segment`` (leaf ``segment`` -> ``segment + 1``); bond default: challengeBond."""
        bond = self.challenge_bond(task_id) if bond is None else bond
        return self._call("challenge", task_id, segment, leaf_a, list(proof_a), leaf_b, list(proof_b), value=bond)

    def draw_jury(self, task_id: int) -> ContractCall:
        """Callable once the chain's head is past the dispute's draw block (gas is estimated at the head)."""
        return self._call("drawJury", task_id)

    def commit_vote(self, task_id: int, commitment: bytes) -> ContractCall:
        """``commitment`` = :func:`vote_commitment` (keep the salt to reveal)."""
        return self._call("commitVote", task_id, commitment)

    def reveal_vote(self, task_id: int, worker_honest: bool, salt: bytes) -> ContractCall:
        return self._call("revealVote", task_id, worker_honest, salt)

    def resolve(self, task_id: int) -> ContractCall:
        return self._call("resolve", task_id)

    # ------------------------------------------------------------ events

    def decode_log(self, log: Any) -> MarketEvent | None:
        """The typed event of one raw log of this contract; None for a log it does not know."""
        topics = log.get("topics") or []
        abi = self._events.get(bytes(topics[0])) if topics else None
        if abi is None or to_checksum_address(log["address"]) != self.address:
            return None
        with translated(abi["name"]):
            data = self.contract.events[abi["name"]]().process_log(log)
        cls = EVENT_TYPES[abi["name"]]
        values = {snake(k): _plain(v) for k, v in data["args"].items()}
        return cls(block_number=log["blockNumber"], log_index=log["logIndex"],
                   tx_hash="0x" + bytes(log["transactionHash"]).hex(), **values)

    def task_events(self, cls: type[E], task_id: int, *, from_block: int = 0,
                    max_range: int | None = None) -> list[E]:
        """This market's ``cls`` events of one task, oldest first (the task id is every task
        event's first indexed topic), from ``from_block`` (never before the deploy block) up to
        the head, in windows of at most ``max_range`` blocks that the node accepts."""
        topic0 = next(t for t, abi in self._events.items() if abi["name"] == cls.__name__)
        with translated("eth_blockNumber"):
            head = self.w3.eth.block_number
        if max_range is not None:
            self.logs.max_range = min(self.logs.max_range, max_range)
        query = {"address": self.address,
                 "topics": ["0x" + topic0.hex(), "0x" + task_id.to_bytes(32, "big").hex()]}
        logs = self.logs.logs(query, max(from_block, self.deploy_block), head)
        return [e for e in map(self.decode_log, logs) if isinstance(e, cls)]

    def events_in(self, receipt: TxReceipt) -> list[MarketEvent]:
        return [e for e in map(self.decode_log, receipt["logs"]) if e is not None]

    def poller(self, confirmations: int | None = None, max_range: int | None = None) -> EventPoller[MarketEvent]:
        """An :class:`EventPoller` of this market's events from its deploy block, at the
        profile's confirmation depth unless ``confirmations`` says; the caller keeps the cursor."""
        confirmations = self.confirmations if confirmations is None else confirmations
        reader = self.logs if max_range is None else LogReader(self.w3, max_range)
        return EventPoller(self.w3, self.address, self.decode_log, confirmations=confirmations,
                           first_block=self.deploy_block, reader=reader)

    def follower(self, start: EventCursor, max_range: int = 2_000) -> LogFollower[MarketEvent]:
        """A :class:`LogFollower` of this market's events from ``start``: a node-side log filter
        where the node keeps one, ``eth_getLogs`` from the cursor where it does not."""
        return LogFollower(self.w3, self.address, self.decode_log, start, max_range=max_range)


def _signature(event_abi: dict[str, Any]) -> str:
    return f"{event_abi['name']}({','.join(_type(i) for i in event_abi['inputs'])})"


def _type(arg: dict[str, Any]) -> str:
    if arg["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in arg["components"]) + ")" + str(arg["type"][5:])
    return str(arg["type"])


def has_code(w3: Web3, address: str) -> bool:
    with translated("eth_getCode"):
        return len(w3.eth.get_code(to_checksum_address(address))) > 0


def event_fields(cls: type[MarketEvent]) -> list[str]:
    """The names of an event dataclass's own fields (not where it was logged)."""
    base = {f.name for f in fields(MarketEvent)}
    return [f.name for f in fields(cls) if f.name not in base]


def open_market(network: NetworkSettings, signer: Signer | None = None, *,
                policy: SendPolicy | None = None) -> TaskMarket:
    """A client of the market named in ``network`` (the [network] settings or a profile),
    checked to exist and, where the profile records it, to run the expected code. A profile's
    confirmation depth applies to the event pollers (hand-written settings keep depth 0, as before)."""
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
    return TaskMarket(w3, network.market_address, signer, policy=policy, deploy_block=network.deploy_block,
                      log_range=network.log_range,
                      confirmations=network.confirmations if network.profile is not None else 0)


def check_code(w3: Web3, address: str, expected: str) -> None:
    """Refuse a market whose runtime code is not the one the profile was made for."""
    with translated("eth_getCode"):
        actual = "0x" + keccak(bytes(w3.eth.get_code(to_checksum_address(address)))).hex()
    if actual.lower() != expected.lower():
        raise ChainError(f"the contract at {address} is not the TaskMarket this network profile names "
                         f"(code hash {actual[:18]}…, expected {expected[:18]}…)",
                         hint="the profile is stale or the node serves another chain: re-add the profile "
                              "with `idlegrid network add`")
