"""Following a contract's new events through a log filter: one cheap call returns only what is new.

``eth_newFilter`` + ``eth_getFilterChanges`` asks the node for the logs mined since the last
call, so a caller that checks often (the worker while it waits for a task) pays one small
request per check instead of ``eth_blockNumber`` + ``eth_getLogs``. Where the node refuses
filters (some hosted RPCs do), or forgets one (nodes drop filters left unpolled for minutes),
the follower reads ``eth_getLogs`` from its cursor instead (:class:`EventPoller`), catching up
on what was mined since the filter's last answer, so no event is lost either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from web3 import Web3
from web3.types import FilterParams

from engine.chain.errors import RpcError
from engine.chain.events import EventCursor, EventPoller
from engine.chain.rpc import translated

E = TypeVar("E")


class LogFollower(Generic[E]):
    """New events of one contract from ``start`` on, through a filter while the node keeps one."""

    def __init__(self, w3: Web3, address: str, decode: Callable[[Any], E | None], start: EventCursor,
                 *, max_range: int = 2_000) -> None:
        self.w3, self.address, self.decode = w3, address, decode
        self.cursor = start  # the first block whose logs were not delivered yet
        self._poller = EventPoller(w3, address, decode, confirmations=0, max_range=max_range)
        self._filter: str | None = None
        self.use_filters = True  # False once the node refused one: eth_getLogs from the cursor

    def changes(self) -> list[E]:
        """The events mined since the last call (the first call: since ``start``), in chain order."""
        if self.use_filters:
            try:
                if self._filter is None:
                    self._filter = self._new_filter()  # first: a block mined meanwhile is in both
                    return self._catch_up()  # what was mined before; the filter skips those blocks
                return self._filter_changes()
            except RpcError:
                self._filter, self.use_filters = None, False  # refused or forgotten: read from the cursor
        return self._catch_up()

    def _catch_up(self) -> list[E]:
        events, self.cursor = self._poller.poll(self.cursor)
        return events

    def _new_filter(self) -> str:
        with translated("eth_newFilter"):
            params: FilterParams = {"address": self.w3.to_checksum_address(self.address), "fromBlock": "latest"}
            fid = self.w3.eth.filter(params).filter_id
        return str(fid)

    def _filter_changes(self) -> list[E]:
        with translated("eth_getFilterChanges"):
            logs = self.w3.eth.get_filter_changes(self._filter)  # type: ignore[arg-type]
        logs = sorted((log for log in logs if int(log["blockNumber"]) >= self.cursor.next_block),
                      key=lambda log: (log["blockNumber"], log["logIndex"]))
        if logs:
            self.cursor = EventCursor(max(self.cursor.next_block, int(logs[-1]["blockNumber"]) + 1))
        return [e for e in map(self.decode, logs) if e is not None]
