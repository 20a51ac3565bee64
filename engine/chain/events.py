"""Reading contract events from a stored block, only once they are deep enough.

The caller owns the position: it persists ``cursor.next_block`` after handling a batch, so a
restart neither misses nor (beyond the last unsaved batch) repeats an event. A log in block
``b`` is delivered once ``confirmations`` blocks are built on top of ``b`` (0: as soon as it
is mined), which keeps shallow re-orgs from delivering events that later vanish.

Public providers cap how many blocks one ``eth_getLogs`` may span (Alchemy 10 on its free
tier, Infura 10,000 results, ...): :class:`LogReader` asks in windows of at most
``max_range`` blocks and halves the window, for good, each time the provider refuses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from web3 import Web3
from web3.types import FilterParams

from engine.chain.errors import RpcError
from engine.chain.rpc import translated

E = TypeVar("E")

# how providers say a getLogs window is too wide (their wording differs; all are about size)
_RANGE_REFUSED = ("block range", "limited to", "range is too large", "range too large", "query returned more than",
                  "too many blocks", "exceeds max", "response size", "results limit", "more than 10000")


def range_refused(error: RpcError) -> bool:
    """Whether ``error`` is a provider refusing an ``eth_getLogs`` window as too wide."""
    return any(s in str(error).lower() for s in _RANGE_REFUSED)


class LogReader:
    """``eth_getLogs`` over any block span, in windows the provider accepts."""

    def __init__(self, w3: Web3, max_range: int = 2_000) -> None:
        self.w3 = w3
        self.max_range = max(1, max_range)

    def logs(self, query: dict[str, Any], start: int, end: int) -> list[Any]:
        """The logs matching ``query`` (address, topics) in blocks ``start``..``end``, in chain order."""
        found: list[Any] = []
        while start <= end:
            stop = min(start + self.max_range - 1, end)
            try:
                with translated("eth_getLogs"):
                    params = cast(FilterParams, {**query, "fromBlock": start, "toBlock": stop})
                    found.extend(self.w3.eth.get_logs(params))
            except RpcError as e:
                if self.max_range == 1 or not range_refused(e):
                    raise
                self.max_range = max(1, self.max_range // 2)
                continue
            start = stop + 1
        return sorted(found, key=lambda log: (log["blockNumber"], log["logIndex"]))


@dataclass(frozen=True)
class EventCursor:
    """The first block not yet read; persist it (an int) between runs."""

    next_block: int = 0


class EventPoller(Generic[E]):
    """Fetches the logs of one contract in block ranges and decodes them with ``decode``."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        decode: Callable[[Any], E | None],
        *,
        confirmations: int = 0,
        max_range: int = 2_000,
        first_block: int = 0,
        reader: LogReader | None = None,
    ) -> None:
        self.w3 = w3
        self.address = address
        self.decode = decode
        self.confirmations = confirmations
        self.reader = reader or LogReader(w3, max_range)  # shared: a window refused once stays narrow
        self.first_block = first_block  # the deploy block: nothing of the contract is older

    def safe_head(self) -> int:
        """The newest block whose logs may be delivered."""
        with translated("eth_blockNumber"):
            return self.w3.eth.block_number - self.confirmations

    def poll(self, cursor: EventCursor) -> tuple[list[E], EventCursor]:
        """Events from ``cursor`` up to the safe head, in chain order, and the cursor after them."""
        last = self.safe_head()
        logs = self.reader.logs({"address": self.address}, max(cursor.next_block, self.first_block), last)
        events = [e for e in map(self.decode, logs) if e is not None]
        return events, EventCursor(max(cursor.next_block, last + 1))
