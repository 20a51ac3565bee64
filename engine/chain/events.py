"""Reading contract events from a stored block, only once they are deep enough.

The caller owns the position: it persists ``cursor.next_block`` after handling a batch, so a
restart neither misses nor (beyond the last unsaved batch) repeats an event. A log in block
``b`` is delivered once ``confirmations`` blocks are built on top of ``b`` (0: as soon as it
is mined), which keeps shallow re-orgs from delivering events that later vanish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from web3 import Web3

from engine.chain.rpc import translated

E = TypeVar("E")


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
    ) -> None:
        self.w3 = w3
        self.address = address
        self.decode = decode
        self.confirmations = confirmations
        self.max_range = max_range

    def safe_head(self) -> int:
        """The newest block whose logs may be delivered."""
        with translated("eth_blockNumber"):
            return self.w3.eth.block_number - self.confirmations

    def poll(self, cursor: EventCursor) -> tuple[list[E], EventCursor]:
        """Events from ``cursor`` up to the safe head, in chain order, and the cursor after them."""
        last = self.safe_head()
        events: list[E] = []
        start = cursor.next_block
        while start <= last:
            end = min(start + self.max_range - 1, last)
            events.extend(self._range(start, end))
            start = end + 1
        return events, EventCursor(max(cursor.next_block, last + 1))

    def _range(self, start: int, end: int) -> list[E]:
        with translated("eth_getLogs"):
            logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": start, "toBlock": end})
        logs = sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"]))
        return [e for e in map(self.decode, logs) if e is not None]
