"""Fixtures of the v2 verifier tests: a real anvil with TaskMarketV2 (the chain fixtures'
``v2_for``), a real blob store, real SQLite history, and one tiny task trained once per session
(v1's verifier tests train the same one: ``tests.integration.verifier.commitments``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from engine.chain.devnet import fund
from engine.chain.market_v2 import TaskMarketV2
from engine.events import EngineEvent
from engine.history import History
from engine.storage import LocalStore
from engine.verifier import VerifierConfig, VerifierV2
from tests.integration.verifier import replay_fixtures

JURORS = 6  # a 5-juror jury besides the worker and the challenger


def pytest_configure(config: pytest.Config) -> None:
    replay_fixtures.load(config)


class Actor:
    """One verifier process: its market client, its own history database and its event log."""

    def __init__(self, market: TaskMarketV2, store: LocalStore, root: Path, config: VerifierConfig) -> None:
        self.market, self.store, self.root, self.config = market, store, root, config
        self.events: list[EngineEvent] = []
        self.history = History.open(root / "history.sqlite3")
        self.verifier = self.start()

    @property
    def address(self) -> str:
        return self.verifier.address

    def start(self) -> VerifierV2:
        """A fresh VerifierV2 on the same history: what a restart of the process gives."""
        self.verifier = VerifierV2(self.market, self.store, self.history, config=self.config,
                                   listener=self.events.append)
        return self.verifier

    def settle(self, limit: int = 50) -> int:
        """step() until there is nothing left to do now; the number of busy turns."""
        for turn in range(limit):
            if not self.verifier.step():
                return turn
        raise AssertionError(f"the verifier was still busy after {limit} turns")

    def job(self, task_id: int) -> Any:
        return self.history.job(self.verifier.chain_id, self.market.address, task_id, "verifier")

    def ledger(self) -> dict[str, int]:
        return self.history.ledger_since(self.verifier.chain_id, self.market.address, 0)

    def said(self, words: str) -> bool:
        return any(words in e.message for e in self.events)


@pytest.fixture
def actor(v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount], store: LocalStore,
          tmp_path: Path) -> Iterator[Callable[..., Actor]]:
    made: list[Actor] = []

    def make(index: int, **config: object) -> Actor:
        settings = {"start_block": 0, "mine_for_seed": True, "work_dir": tmp_path / f"work{index}",
                    "poll_interval_s": 0.05, "replay_in_process": True, **config}
        a = Actor(v2_for(accounts[index]), store, tmp_path / f"verifier{index}", VerifierConfig(**settings))
        made.append(a)
        return a

    yield make
    for a in made:
        a.history.close()


@pytest.fixture
def jurors(chain: Any, v2_for: Callable[[LocalAccount], TaskMarketV2]) -> list[TaskMarketV2]:
    """Funded accounts beyond anvil's ten (deterministic keys), not yet registered."""
    wallets = [Account.from_key(keccak(text=f"idlegrid verifier_v2 juror {i}")) for i in range(JURORS)]
    fund(chain, [w.address for w in wallets])
    return [v2_for(w) for w in wallets]
