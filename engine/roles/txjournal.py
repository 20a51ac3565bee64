"""Chain writes that survive a crash: the intent and the signed bytes are journaled first.

One write is ``prepare`` (sign, nothing sent) -> ``journal_begin`` with the signed transaction
(one durable SQLite commit) -> broadcast -> wait (each fee-bumped replacement is journaled
before it is sent) -> ``journal_end``. A crash anywhere after the begin leaves an open journal
entry, and
:meth:`TxJournal.reconcile` finishes it: the receipt of whichever journaled version was
mined, or the very same signed bytes broadcast again (same hash, same nonce: the node takes
them once). An entry with no signed transaction (journaled by an older version) sent nothing,
so it is simply closed and the caller re-reads the chain. The begin refuses a key that is
already open, so a second claim or commit is never broadcast for one intent; a crash before
the begin signed at most bytes that nobody saw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3.types import TxReceipt

from engine.chain.contract import MarketClient
from engine.chain.errors import ChainError, ContractRevert, NonceConsumed
from engine.chain.market import ContractCall
from engine.chain.sender import PreparedTx

if TYPE_CHECKING:
    from engine.history import History
    from engine.history.records import JournalEntry


@dataclass(frozen=True)
class Sent:
    """A mined transaction: its receipt and what it cost (gas used x effective price, wei)."""

    receipt: TxReceipt
    tx_hash: str
    gas_paid: int


def gas_paid(receipt: TxReceipt) -> int:
    return int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice") or 0)


def sent(receipt: TxReceipt) -> Sent:
    return Sent(receipt, "0x" + bytes(receipt["transactionHash"]).hex(), gas_paid(receipt))


class TxJournal:
    """Journaled sends of one account on one market; ``role`` tags the entries it owns.

    Thread-safe: the app withdraws from its own thread while the worker's loop sends claims and
    commits. Signing and broadcasting are serialised (two transactions signed at once would
    take the same nonce), and an entry being sent by a thread of this process is not an
    unfinished entry for :meth:`reconcile` to take over.
    """

    def __init__(self, history: History, market: MarketClient, *, role: str) -> None:
        self.history = history
        self.market = market
        self.role = role
        self._prefix: str | None = None
        self._signing = threading.Lock()
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    @property
    def prefix(self) -> str:
        """``<chain id>:<market>:``, the start of every key of this market (read once)."""
        if self._prefix is None:
            self._prefix = f"{self.market.chain_id()}:{self.market.address}:"
        return self._prefix

    @property
    def account(self) -> str:
        return self.market.sender_or_fail().address

    def key(self, task_id: int | str, action: str) -> str:
        return f"{self.prefix}{task_id}:{action}:{self.role}"

    def send(self, key: str, action: str, call: ContractCall, **payload: Any) -> Sent:
        """Send ``call`` under journal entry ``key``. A revert closes the entry as failed and
        raises :class:`ContractRevert`; a network failure leaves it open for :meth:`reconcile`."""
        sender = self.market.sender_or_fail()
        with self._in_flight_lock:
            self._in_flight.add(key)
        try:
            with self._signing:
                intent = {**payload, "role": self.role, "account": self.account}
                try:
                    prepared = call.prepare()
                except ContractRevert as e:
                    self._record_unsent(key, action, intent, f"failed: {e.reason}")
                    raise
                except ChainError:
                    self._record_unsent(key, action, intent, "failed: not sent")  # nothing was signed for the node
                    raise
                self.history.journal_begin(key, action, {**intent, "tx": prepared.to_json(), "replacements": []})
                versions: list[PreparedTx] = [prepared]
                sender.broadcast(prepared)
            receipt = self._finish(key, lambda: sender.wait(prepared, journal=self._journaling(key, versions)))
            return sent(receipt)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(key)

    def _record_unsent(self, key: str, action: str, intent: dict[str, Any], result: str) -> None:
        """A send that ended before anything was signed, kept in the journal as a closed entry."""
        self.history.journal_begin(key, action, intent)
        self.history.journal_end(key, result)

    def open_entries(self) -> list[JournalEntry]:
        """This account's unfinished entries of this role, oldest first."""
        with self._in_flight_lock:
            busy = set(self._in_flight)
        return [e for e in self.history.journal_open()
                if e.key.startswith(self.prefix) and e.payload.get("role") == self.role
                and e.payload.get("account") == self.account and e.key not in busy]

    def reconcile(self, entry: JournalEntry) -> Sent | None:
        """Finish an entry left open by a crash or an outage; None when nothing was ever sent.

        Raises :class:`ContractRevert` (entry closed as failed) when the journaled transaction
        reverted, :class:`NonceConsumed` (closed) when another transaction took its nonce, and
        a network error (entry left open) when the node is still unreachable.
        """
        tx = entry.payload.get("tx")
        if tx is None:
            self.history.journal_end(entry.key, "superseded: nothing was sent")
            return None
        versions = [PreparedTx.from_json(tx), *(PreparedTx.from_json(r) for r in entry.payload.get("replacements", []))]
        sender = self.market.sender_or_fail()
        receipt = self._finish(entry.key, lambda: sender.reconcile(
            versions[0], *versions[1:], journal=self._journaling(entry.key, versions)))
        return sent(receipt)

    def _journaling(self, key: str, versions: list[PreparedTx]) -> Callable[[PreparedTx], None]:
        def record(bumped: PreparedTx) -> None:
            versions.append(bumped)
            self.history.journal_update(key, replacements=[v.to_json() for v in versions[1:]])

        return record

    def _finish(self, key: str, wait: Callable[[], TxReceipt]) -> TxReceipt:
        try:
            receipt = wait()
        except ContractRevert as e:
            self.history.journal_end(key, f"failed: {e.reason}")
            raise
        except NonceConsumed:
            self.history.journal_end(key, "failed: nonce used by another transaction")
            raise
        self.history.journal_end(key, "done")
        return receipt
