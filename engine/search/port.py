"""What the coordinator needs of a market, as a protocol: the real one (:mod:`.chainport`, the
requester's public API on the TaskMarket) and a simulated one (:mod:`.simulated`, for scale
tests) implement it. Events are the chain client's own typed events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.chain.market import MarketEvent, TaskPosted
from engine.tasks.load import CheckedSpec


@dataclass(frozen=True)
class Terms:
    """What each candidate's task offers: reward and stake in wei, timeouts in seconds."""

    reward: int
    stake: int | None = None
    window: int = 600
    claim_timeout: int = 3600
    train_timeout: int | None = None


@dataclass(frozen=True)
class Posted:
    task_id: int
    block: int
    claim_deadline: int
    reward: int
    gas: int


@dataclass(frozen=True)
class Result:
    """A result checked against the committed root: its held-out metrics and who trained it."""

    metrics: dict[str, float]
    worker: str


class SearchMarket(Protocol):
    """The market as the coordinator sees it. ``poll`` is one scan of the market's event log
    from a block cursor: the coordinator never polls tasks one by one."""

    address: str

    def head(self) -> int: ...

    def now(self) -> float: ...

    def recover(self) -> None: ...

    def post(self, checked: CheckedSpec, terms: Terms) -> Posted: ...

    def posts(self, from_block: int) -> list[TaskPosted]: ...

    def poll(self, cursor: int) -> tuple[list[MarketEvent], int]: ...

    def result(self, task_id: int) -> Result: ...

    def cancel(self, task_id: int) -> int: ...

    def gas(self, task_id: int) -> int: ...
