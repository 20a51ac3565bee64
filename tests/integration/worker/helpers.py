"""What the worker tests share: posting tasks, driving a worker, reading the chain."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.chain.market import MarketEvent, TaskMarket, TaskPosted
from engine.events import EngineEvent
from engine.gpu.monitor import NoGpu
from engine.gpu.nogpu import CpuBackend
from engine.gpu.policy import IdlePolicy
from engine.storage import BlobStore
from engine.tasks.load import canonical_json, check, parse
from engine.worker import Worker, ignore_idle_policy
from tests.specs import quick_mlp

ETHER = 10**18
REWARD = ETHER // 2
STAKE = ETHER // 20
WINDOW = 600


def CPU() -> CpuBackend:
    return CpuBackend(NoGpu("tests train on the CPU"))


def quiet_policy() -> IdlePolicy:
    return ignore_idle_policy()


def tiny_spec(**overrides: Any) -> dict[str, Any]:
    """quick_mlp cut to 40 steps in 4 segments (5 leaves)."""
    spec = quick_mlp(steps=40, checkpoint_every=10, schedule={"kind": "constant"})
    spec.update(overrides)
    return spec


@dataclass
class Poster:
    """A requester that uploads a spec and posts it (bypassing the requester module on purpose:
    tests need to post bad specs too)."""

    market: TaskMarket
    store: BlobStore

    def post(self, spec: dict[str, Any] | None = None, *, raw: bytes | None = None, spec_hash: bytes | None = None,
             uri: str | None = None, reward: int = REWARD, stake: int = STAKE, window: int = WINDOW,
             train_timeout: int = 7200) -> int:
        if raw is None:
            raw = canonical_json(check(parse(spec or tiny_spec())).spec)
        sha = self.store.put_bytes(raw)
        digest = spec_hash or hashlib.sha256(raw).digest()
        receipt = self.market.post_task(digest, uri or f"blob:{sha}", reward=reward, worker_stake=stake,
                                        claim_timeout=3600, train_timeout=train_timeout,
                                        challenge_window=window).send()
        (posted,) = [e for e in self.market.events_in(receipt) if isinstance(e, TaskPosted)]
        return posted.task_id


def drive(worker: Worker, until: Callable[[], bool], timeout: float = 120.0) -> None:
    """Turn the worker until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"timed out; worker status: {worker.status()}"
        if not worker.step():
            time.sleep(0.05)


def wait_for(condition: Callable[[], bool], worker: Worker, timeout: float = 120.0) -> None:
    """Wait (the worker runs in another thread) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; worker status: {worker.status()}"
        time.sleep(0.05)


def events_of(market: TaskMarket, cls: type[MarketEvent], task_id: int) -> list[Any]:
    logs = market.w3.eth.get_logs({"address": market.address, "fromBlock": 0, "toBlock": "latest"})
    return [e for e in map(market.decode_log, logs) if isinstance(e, cls) and e.task_id == task_id]


class Recorder(list):
    """A listener that keeps every event."""

    def __call__(self, event: EngineEvent) -> None:
        self.append(event)

    def messages(self, kind: Any = None) -> list[str]:
        return [e.message for e in self if kind is None or e.kind == kind]

