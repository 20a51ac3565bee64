"""Fixtures of the verifier tests: real anvil + TaskMarket, a real blob store, real SQLite
history, and one tiny task trained once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.market import TaskMarket
from engine.events import EngineEvent
from engine.history import History
from engine.storage import LocalStore
from engine.verifier import Verifier, VerifierConfig
from tests.integration.verifier import replay_fixtures


def pytest_configure(config: pytest.Config) -> None:
    replay_fixtures.load(config)


class Actor:
    """One verifier process: its market client, its own history database and its event log."""

    def __init__(self, market: TaskMarket, store: LocalStore, root: Path, config: VerifierConfig) -> None:
        self.market, self.store, self.root, self.config = market, store, root, config
        self.events: list[EngineEvent] = []
        self.history = History.open(root / "history.sqlite3")
        self.verifier = self.start()

    def start(self) -> Verifier:
        """A fresh Verifier on the same history: what a restart of the process gives."""
        self.verifier = Verifier(self.market, self.store, self.history, config=self.config,
                                 listener=self.events.append)
        return self.verifier

    def settle(self, limit: int = 50) -> int:
        """step() until there is nothing left to do now; the number of busy turns."""
        for turn in range(limit):
            if not self.verifier.step():
                return turn
        raise AssertionError(f"the verifier was still busy after {limit} turns")

    def job(self, task_id: int):
        return self.history.job(self.verifier.chain_id, self.market.address, task_id, "verifier")

    def said(self, words: str) -> bool:
        return any(words in e.message for e in self.events)


@pytest.fixture
def actor(market_for: Callable[[LocalAccount], TaskMarket], accounts: list[LocalAccount], store: LocalStore,
          tmp_path: Path) -> Iterator[Callable[..., Actor]]:
    made: list[Actor] = []

    def make(index: int, **config: object) -> Actor:
        settings = {"start_block": 0, "mine_for_seed": True, "work_dir": tmp_path / f"work{index}",
                    "poll_interval_s": 0.05, "replay_in_process": True, **config}
        a = Actor(market_for(accounts[index]), store, tmp_path / f"verifier{index}", VerifierConfig(**settings))
        made.append(a)
        return a

    yield make
    for a in made:
        a.history.close()
