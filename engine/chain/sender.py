"""Sending transactions so that a crash or a stalled node never loses or doubles one.

The worker journals intent before anything leaves the machine::

    prepared = sender.prepare(tx, function="claimTask")   # signed, nonce reserved, not sent
    journal.write(prepared.to_json())                     # hash + nonce + raw bytes on disk
    sender.broadcast(prepared)
    receipt = sender.wait(prepared, journal=journal.write)  # replacements are journaled too

and after a restart calls ``sender.reconcile(prepared, *replacements)`` with each journaled
nonce's versions: it returns the receipt of whichever version was mined, or re-sends the very
same signed bytes (same hash, same nonce: the node can only accept it once), never a second
transaction.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, cast

from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from engine.chain.errors import (
    ContractRevert,
    GasCapExceeded,
    GasTooHigh,
    NonceConsumed,
    RpcError,
    TransactionTimeout,
)
from engine.chain.rpc import rpc_message, translated

DEFAULT_GAS_CAP = 1_000_000


class Signer(Protocol):
    """Anything that holds a key: the wallet's ``Signer`` or an eth-account ``LocalAccount``.

    ``sign_transaction(tx)`` returns ``(raw bytes, hash)``; an eth-account ``SignedTransaction``
    is accepted as well.
    """

    @property
    def address(self) -> str:
        """The account's address (read-only, as on eth-account's ``LocalAccount``)."""

    def sign_transaction(self, tx: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class PreparedTx:
    """A signed transaction not yet known to be mined; what the caller journals."""

    function: str
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes
    tx: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "raw": "0x" + self.raw.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedTx:
        return cls(**{**data, "raw": bytes.fromhex(data["raw"].removeprefix("0x"))})


@dataclass(frozen=True)
class SendPolicy:
    gas_cap: int = DEFAULT_GAS_CAP
    gas_margin: float = 1.25
    receipt_timeout: float = 30.0
    poll_interval: float = 0.1
    first_poll: float = 0.005  # receipt polls start here and double up to poll_interval
    rebroadcasts: int = 3
    fee_bump: float = 1.25
    max_fee_per_gas: int | None = None  # the user's ceiling (wei): no version is ever priced above it
    confirmations: int = 0  # blocks on top of a receipt before it counts; orphaned -> sent again
    # a node may count a mined transaction in the account's nonce a moment before it serves the
    # receipt (anvil does; so may an RPC behind a load balancer): the nonce counts as taken by
    # another transaction only once ours has had no receipt for this long after the count moved
    nonce_grace_s: float = 2.0


class Sender:
    """Signs and sends one account's transactions, tracking its nonces locally."""

    def __init__(self, w3: Web3, signer: Signer, policy: SendPolicy | None = None) -> None:
        self.w3 = w3
        self.signer = signer
        self.policy = policy or SendPolicy()
        self.address = to_checksum_address(signer.address)
        self._lock = threading.Lock()
        self._next_nonce = 0
        self._chain_id: int | None = None

    def next_nonce(self) -> int:
        """The larger of the node's pending nonce and the last one this sender handed out + 1."""
        with translated("eth_getTransactionCount"):
            pending = self.w3.eth.get_transaction_count(self.address, "pending")
        return max(pending, self._next_nonce)

    def estimate_gas(self, tx: dict[str, Any], function: str) -> int:
        """Gas for ``tx`` with the safety margin; a revert raises :class:`ContractRevert`."""
        call = cast(TxParams, {"from": self.address, **_call_fields(tx)})
        with translated(function):
            estimate = self.w3.eth.estimate_gas(call)
        if estimate > self.policy.gas_cap:
            raise GasCapExceeded(function, estimate, self.policy.gas_cap)
        return min(math.ceil(estimate * self.policy.gas_margin), self.policy.gas_cap)

    def prepare(self, tx: dict[str, Any], *, function: str, nonce: int | None = None) -> PreparedTx:
        """Estimate, price, reserve a nonce and sign ``tx`` (to, data, value); send nothing."""
        gas = self.estimate_gas(tx, function)
        fees = self._fees(function)
        with self._lock:
            if nonce is None:
                nonce = self.next_nonce()
            self._next_nonce = max(self._next_nonce, nonce + 1)
        full = {**_call_fields(tx), **fees, "gas": gas, "nonce": nonce, "chainId": self.chain_id}
        return self._sign(full, function, nonce)

    def broadcast(self, prepared: PreparedTx) -> str:
        """Hand the signed bytes to the node; sending the same bytes again is harmless."""
        try:
            self.w3.eth.send_raw_transaction(prepared.raw)
        except Web3RPCError as e:
            message = rpc_message(e)
            if _already_known(message):
                return prepared.tx_hash
            if "nonce too low" in message.lower() and self._receipt(prepared.tx_hash) is not None:
                return prepared.tx_hash
            if "nonce too low" in message.lower():
                raise NonceConsumed(prepared.function, prepared.nonce) from None
            raise RpcError(f"{prepared.function} (eth_sendRawTransaction)", message) from None
        return prepared.tx_hash

    def wait(
        self, prepared: PreparedTx, *, journal: Callable[[PreparedTx], None] | None = None
    ) -> TxReceipt:
        """The receipt of ``prepared`` or of a fee-bumped replacement (same nonce).

        After each ``receipt_timeout`` without a receipt, the transaction is re-signed with
        higher fees and rebroadcast; ``journal`` is called with each replacement before it is
        sent. A reverted transaction raises :class:`ContractRevert` with the contract's reason.
        """
        return self._wait([prepared], journal)

    def send(self, tx: dict[str, Any], *, function: str) -> TxReceipt:
        """Prepare, broadcast and wait: for callers with nothing to journal."""
        prepared = self.prepare(tx, function=function)
        self.broadcast(prepared)
        return self.wait(prepared)

    def reconcile(
        self, prepared: PreparedTx, *replacements: PreparedTx,
        journal: Callable[[PreparedTx], None] | None = None,
    ) -> TxReceipt:
        """Finish a journaled transaction after a crash, without ever sending it twice.

        ``replacements`` are the fee-bumped versions the journal holds for the same nonce.
        One of them mined -> its receipt. None known and the nonce unused -> the newest signed
        bytes are broadcast again (same hash: the node takes them once) and awaited. The nonce
        used by a transaction not in the journal -> :class:`NonceConsumed`.
        """
        versions = [prepared, *replacements]
        with self._lock:
            self._next_nonce = max(self._next_nonce, prepared.nonce + 1)
        for version in versions:
            receipt = self._receipt(version.tx_hash)
            deep = self._deep_enough(receipt, version) if receipt is not None else None
            if deep is not None:
                return self._checked(deep, version)
        self.broadcast(versions[-1])
        return self._wait(versions, journal)

    def bump(self, prepared: PreparedTx) -> PreparedTx | None:
        """The same transaction (same nonce) re-signed with fees raised by ``fee_bump``, and at
        least to what today's base fee asks (a 10x spike is met in one step, not ten); None
        when the fee ceiling leaves no room for a replacement the node would take."""
        tx = dict(prepared.tx)
        ceiling = self.policy.max_fee_per_gas
        for key in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
            if key in tx:
                tx[key] = max(math.ceil(tx[key] * self.policy.fee_bump), tx[key] + 1)
        if "maxFeePerGas" in tx:
            tx["maxFeePerGas"] = max(tx["maxFeePerGas"], self._fees(prepared.function, checked=False)["maxFeePerGas"])
        price_key = "maxFeePerGas" if "maxFeePerGas" in tx else "gasPrice"
        if ceiling is not None and tx[price_key] > ceiling:
            minimum = math.ceil(prepared.tx[price_key] * 1.1)  # what nodes require of a replacement
            if minimum > ceiling:
                return None
            tx[price_key] = ceiling
            if "maxPriorityFeePerGas" in tx:
                tx["maxPriorityFeePerGas"] = min(tx["maxPriorityFeePerGas"], ceiling)
        return self._sign(tx, prepared.function, prepared.nonce)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with translated("eth_chainId"):
                self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def _sign(self, tx: dict[str, Any], function: str, nonce: int) -> PreparedTx:
        raw, tx_hash = _signed(self.signer.sign_transaction(tx))
        return PreparedTx(function, self.address, nonce, tx_hash, raw, tx)

    def _fees(self, function: str, *, checked: bool = True) -> dict[str, int]:
        """EIP-1559 fees that survive the base fee doubling, capped at the ceiling; a base fee
        already over the ceiling raises :class:`GasTooHigh` (unless ``checked`` is False)."""
        ceiling = self.policy.max_fee_per_gas
        with translated(function):
            base = self.w3.eth.get_block("latest").get("baseFeePerGas")
            if base is None:
                price = int(self.w3.eth.gas_price)
                if checked and ceiling is not None and price > ceiling:
                    raise GasTooHigh(function, price, ceiling)
                return {"gasPrice": price if ceiling is None else min(price, ceiling)}
            tip = int(self.w3.eth.max_priority_fee)
        if checked and ceiling is not None and base + tip > ceiling:
            raise GasTooHigh(function, base, ceiling)
        fee = 2 * base + tip if ceiling is None else min(2 * base + tip, ceiling)
        return {"maxFeePerGas": fee, "maxPriorityFeePerGas": min(tip, fee), "type": 2}

    def _wait(self, versions: list[PreparedTx], journal: Callable[[PreparedTx], None] | None) -> TxReceipt:
        """The receipt once ``confirmations`` blocks cover it. A receipt whose block is
        orphaned by a reorg is not lost: the same signed bytes (every journaled version, so the
        same nonce) go out again and are awaited; the node can mine only one of them."""
        first = versions[0]
        while True:
            receipt, versions = self._mined(versions, journal)
            deep = self._deep_enough(receipt, first)
            if deep is not None:
                return self._checked(deep, first)
            for version in versions:
                self._rebroadcast(version)

    def _mined(self, versions: list[PreparedTx],
               journal: Callable[[PreparedTx], None] | None) -> tuple[TxReceipt, list[PreparedTx]]:
        first = versions[0]
        for attempt in range(self.policy.rebroadcasts + 1):
            receipt = self._await_any(versions)
            if receipt is not None:
                return receipt, versions
            if attempt < self.policy.rebroadcasts:
                bumped = self.bump(versions[-1])
                if bumped is None:  # at the ceiling: keep waiting for the versions sent
                    continue
                if journal is not None:
                    journal(bumped)
                versions = [*versions, bumped]
                self._rebroadcast(bumped)
        raise TransactionTimeout(first.function, [v.tx_hash for v in versions], first.nonce)

    def _deep_enough(self, receipt: TxReceipt, first: PreparedTx) -> TxReceipt | None:
        """``receipt`` (as it stands now) once ``confirmations`` blocks are built on it; None
        when a reorg took it off the chain. A chain that stops growing times out."""
        if self.policy.confirmations == 0:
            return receipt
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        waited_from, head_seen = time.monotonic(), -1
        while True:
            current = self._receipt(tx_hash)
            if current is None:
                return None
            with translated("eth_blockNumber"):
                head = self.w3.eth.block_number
            if head - current["blockNumber"] >= self.policy.confirmations:
                return current
            if head != head_seen:
                waited_from, head_seen = time.monotonic(), head
            elif time.monotonic() - waited_from > self.policy.receipt_timeout:
                raise TransactionTimeout(first.function, [tx_hash], first.nonce)
            time.sleep(self.policy.poll_interval)

    def _rebroadcast(self, prepared: PreparedTx) -> None:
        try:
            self.broadcast(prepared)
        except NonceConsumed:
            pass  # an earlier version got mined meanwhile; the next poll finds its receipt
        except RpcError as e:
            if "underpriced" not in str(e):
                raise
            # the node wants a bigger bump: keep waiting for the versions it holds

    def _await_any(self, versions: list[PreparedTx]) -> TxReceipt | None:
        """The first receipt of any version, or None after ``receipt_timeout``. Polls start at
        ``first_poll`` and double up to ``poll_interval``: a devnet or an L2 mines within
        milliseconds, and a fixed 0.1 s poll was a tenth of a digits-mlp task's protocol
        time (``bench.protocol`` phase_commit_tx_s 0.100); on a 12 s chain the extra polls
        are five cheap calls per transaction."""
        deadline = time.monotonic() + self.policy.receipt_timeout
        pause = min(self.policy.first_poll, self.policy.poll_interval)
        taken_since: float | None = None  # when the nonce was first seen used with no receipt of ours
        while True:
            for version in versions:
                receipt = self._receipt(version.tx_hash)
                if receipt is not None:
                    return receipt
            if not self._nonce_used_elsewhere(versions):
                taken_since = None
            elif taken_since is None:
                taken_since = time.monotonic()
            elif time.monotonic() - taken_since >= self.policy.nonce_grace_s:
                raise NonceConsumed(versions[0].function, versions[0].nonce)
            if time.monotonic() >= deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, self.policy.poll_interval)

    def _nonce_used_elsewhere(self, versions: list[PreparedTx]) -> bool:
        with translated("eth_getTransactionCount"):
            mined = self.w3.eth.get_transaction_count(self.address, "latest")
        if mined <= versions[0].nonce:
            return False
        return all(self._receipt(v.tx_hash) is None for v in versions)

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        with translated("eth_getTransactionReceipt"):
            try:
                return self.w3.eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:
                return None

    def _checked(self, receipt: TxReceipt, prepared: PreparedTx) -> TxReceipt:
        if receipt["status"] == 1:
            return receipt
        raise ContractRevert(self._replay_reason(receipt, prepared), prepared.function)

    def _replay_reason(self, receipt: TxReceipt, prepared: PreparedTx) -> str:
        call = cast(TxParams, {"from": self.address, **_call_fields(prepared.tx), "gas": prepared.tx["gas"]})
        try:
            with translated(prepared.function):
                self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except ContractRevert as e:
            return e.reason
        return "reverted when mined (the reason could not be replayed)"


def _call_fields(tx: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``tx`` that say what it does: ``to`` (absent: a deployment), data, value."""
    fields = {"data": tx.get("data", "0x"), "value": int(tx.get("value", 0))}
    if tx.get("to"):
        fields["to"] = to_checksum_address(tx["to"])
    return fields


def _signed(result: Any) -> tuple[bytes, str]:
    """``(raw, hash)`` from a wallet ``Signer`` or an eth-account ``SignedTransaction``."""
    if hasattr(result, "raw_transaction"):
        raw, tx_hash = result.raw_transaction, result.hash
    else:
        raw, tx_hash = result
    if isinstance(tx_hash, str):
        tx_hash = bytes.fromhex(tx_hash.removeprefix("0x"))
    return bytes(raw), "0x" + bytes(tx_hash).hex()


def _already_known(message: str) -> bool:
    message = message.lower()
    return any(s in message for s in ("already known", "known transaction", "already imported", "already exists"))

