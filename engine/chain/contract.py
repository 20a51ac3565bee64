"""What every TaskMarket client shares, whatever the contract's version: the typed call, the
connection and wallet, the reads and writes whose ABI did not change, and event decoding.

:class:`engine.chain.market.TaskMarket` (v1) and :class:`engine.chain.market_v2.TaskMarketV2`
add their own calls, reads and event types on top; each names its artifact and its event
classes (``EVENT_TYPES``), and the decoding, polling and following here serve both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, Self, TypeVar

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import TxReceipt

from engine.chain.artifact import Artifact
from engine.chain.clock import ChainClock
from engine.chain.errors import ChainError
from engine.chain.events import EventCursor, EventPoller, LogReader
from engine.chain.follower import LogFollower
from engine.chain.records import MarketEvent, Reveal, Vote
from engine.chain.rpc import translated
from engine.chain.sender import PreparedTx, Sender, SendPolicy, Signer

E = TypeVar("E", bound=MarketEvent)


def snake(name: str) -> str:
    """``specURI`` -> ``spec_uri``, ``workerStake`` -> ``worker_stake``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def plain(value: Any) -> Any:
    """web3's HexBytes / lists as plain bytes / tuples."""
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return value


def event_fields(cls: type[MarketEvent]) -> list[str]:
    """The names of an event dataclass's own fields (not where it was logged)."""
    base = {f.name for f in fields(MarketEvent)}
    return [f.name for f in fields(cls) if f.name not in base]


def has_code(w3: Web3, address: str) -> bool:
    with translated("eth_getCode"):
        return len(w3.eth.get_code(to_checksum_address(address))) > 0


def _signature(event_abi: dict[str, Any]) -> str:
    return f"{event_abi['name']}({','.join(_type(i) for i in event_abi['inputs'])})"


def _type(arg: dict[str, Any]) -> str:
    if arg["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in arg["components"]) + ")" + str(arg["type"][5:])
    return str(arg["type"])


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class ContractCall:
    """One state-changing call, not yet sent."""

    market: MarketClient
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


class TaskView(Protocol):
    """What v1's ``Task`` and v2's ``TaskV2`` both carry, for code that serves either market."""

    @property
    def task_id(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def worker(self) -> str: ...
    @property
    def worker_stake(self) -> int: ...
    @property
    def deadline(self) -> int: ...
    @property
    def num_leaves(self) -> int: ...
    @property
    def merkle_root(self) -> bytes: ...


class MarketClient:
    """A client of one deployed market contract, signing as ``signer`` (None: read-only).

    Subclasses set ``EVENT_TYPES`` (event name -> dataclass) and ``default_artifact``.
    """

    EVENT_TYPES: ClassVar[dict[str, type[MarketEvent]]] = {}

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
        self.artifact = artifact or self.default_artifact()
        self.contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self.sender = Sender(w3, signer, policy) if signer is not None else None
        self._chain_id: int | None = None
        self._events = {
            bytes(keccak(text=_signature(e))): e for e in self.artifact.abi if e.get("type") == "event"
        }

    @classmethod
    def default_artifact(cls) -> Artifact:
        raise NotImplementedError

    def with_signer(self, signer: Signer) -> Self:
        """The same market on the same connection, signing as ``signer``."""
        return type(self)(self.w3, self.address, signer, artifact=self.artifact, deploy_block=self.deploy_block,
                          log_range=self.logs.max_range, confirmations=self.confirmations)

    def sender_or_fail(self) -> Sender:
        if self.sender is None:
            raise ChainError(f"this {type(self).__name__} client has no wallet, so it cannot send transactions")
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

    # ------------------------------------------------------------ reads both versions have

    def _read(self, function: str, *args: Any) -> Any:
        with translated(function):
            return self.contract.get_function_by_name(function)(*args).call()

    def get_task(self, task_id: int) -> TaskView:
        """The task, in the version's own record (each subclass narrows the type)."""
        raise NotImplementedError

    def task_count(self) -> int:
        return int(self._read("taskCount"))

    def open_task_count(self) -> int:
        return int(self._read("openTaskCount"))

    def open_tasks(self, offset: int = 0, limit: int = 100) -> list[int]:
        """One page (at most 100) of open task ids; the order changes as tasks are claimed."""
        return list(self._read("openTasks", offset, limit))

    def challenge_bond(self, task_id: int) -> int:
        return int(self._read("challengeBond", task_id))

    def credits(self, account: str) -> int:
        """Wei waiting for ``account`` to ``withdraw`` (the contract's getter: in v2 it masks the
        withdrawal mark of the storage slot, so never read the slot itself)."""
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

    def jury(self, dispute: int) -> tuple[str, ...]:
        """The dispute's current jury (``dispute``: the task id in v1, the dispute id in v2;
        empty before a draw and, in v2, after a redraw)."""
        return tuple(self._read("jury", dispute))

    def vote_of(self, dispute: int, juror: str) -> Vote:
        """A juror's commitment and reveal (in v2: of the dispute's current draw)."""
        commitment, reveal = self._read("voteOf", dispute, to_checksum_address(juror))
        return Vote(bytes(commitment), Reveal(reveal))

    def verify_proof(self, root: bytes, leaf: bytes, index: int, n: int, proof: Sequence[bytes]) -> bool:
        return bool(self._read("verifyProof", root, leaf, index, n, list(proof)))

    # ------------------------------------------------------------ writes both versions have

    def _call(self, function: str, *args: Any, value: int = 0) -> ContractCall:
        return ContractCall(self, function, args, value)

    def cancel_task(self, task_id: int) -> ContractCall:
        return self._call("cancelTask", task_id)

    def claim_task(self, task_id: int, stake: int | None = None) -> ContractCall:
        """Claim with ``stake`` wei (default: the task's worker stake, read from the chain)."""
        stake = int(self._read("getTask", task_id)[3]) if stake is None else stake
        return self._call("claimTask", task_id, value=stake)

    def expire_claim(self, task_id: int) -> ContractCall:
        return self._call("expireClaim", task_id)

    def submit_result(self, task_id: int, merkle_root: bytes, num_leaves: int, result_uri: str) -> ContractCall:
        return self._call("submitResult", task_id, merkle_root, num_leaves, result_uri)

    def finalize(self, task_id: int) -> ContractCall:
        return self._call("finalize", task_id)

    def withdraw(self) -> ContractCall:
        return self._call("withdraw")

    def unregister(self) -> ContractCall:
        return self._call("unregister")

    def withdraw_stake(self) -> ContractCall:
        return self._call("withdrawStake")

    # ------------------------------------------------------------ the jury (v1: by task id, v2: by dispute id)

    def draw_jury(self, dispute: int) -> ContractCall:
        """Callable once the chain's head is past the dispute's draw block (gas is estimated at the
        head); in v2 also only in the epoch the draw block was fixed in, else the draw moves on."""
        return self._call("drawJury", dispute)

    def commit_vote(self, dispute: int, commitment: bytes) -> ContractCall:
        """``commitment`` = :func:`engine.chain.market.vote_commitment` (keep the salt to reveal)."""
        return self._call("commitVote", dispute, commitment)

    def reveal_vote(self, dispute: int, worker_honest: bool, salt: bytes) -> ContractCall:
        return self._call("revealVote", dispute, worker_honest, salt)

    def resolve(self, dispute: int) -> ContractCall:
        return self._call("resolve", dispute)

    # ------------------------------------------------------------ events

    def decode_log(self, log: Any) -> MarketEvent | None:
        """The typed event of one raw log of this contract; None for a log it does not know."""
        topics = log.get("topics") or []
        abi = self._events.get(bytes(topics[0])) if topics else None
        if abi is None or to_checksum_address(log["address"]) != self.address:
            return None
        with translated(abi["name"]):
            data = self.contract.events[abi["name"]]().process_log(log)
        cls = self.EVENT_TYPES[abi["name"]]
        values = {snake(k): plain(v) for k, v in data["args"].items()}
        return cls(block_number=log["blockNumber"], log_index=log["logIndex"],
                   tx_hash="0x" + bytes(log["transactionHash"]).hex(), **values)

    def task_events(self, cls: type[E], task_id: int, *, from_block: int = 0,
                    max_range: int | None = None) -> list[E]:
        """This market's ``cls`` events whose first indexed topic is ``task_id`` (the task id of
        every task event; in v2 the dispute id of the vote events), oldest first, from
        ``from_block`` (never before the deploy block) up to the head, in windows of at most
        ``max_range`` blocks that the node accepts."""
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
