"""Fixtures of the v2 jury tests: a real anvil with TaskMarketV2, a real blob store, real SQLite
histories, and one tiny task trained once per session whose segments the jurors replay.

``court()`` gives the parties of one dispute: a requester, a worker and a challenger (bindings),
six registered verifiers each running a :class:`~tests.integration.jury_v2.juror.JurorV2` (five
of them make a jury), and an unregistered watcher that draws juries and resolves disputes as any
verifier may.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from engine.chain.anvil import time_travel
from engine.chain.devnet import fund
from engine.chain.market_v2 import TaskMarketV2
from engine.storage import LocalStore
from engine.verifier.states import VerifierConfig
from tests.integration.chain_v2 import steps
from tests.integration.jury_v2.juror import Actor
from tests.integration.verifier import replay_fixtures

VERIFIERS = 6  # a jury of five, and one left out


def pytest_configure(config: pytest.Config) -> None:
    replay_fixtures.load(config)


@dataclass
class Court:
    requester: TaskMarketV2
    worker: TaskMarketV2
    challenger: TaskMarketV2
    watcher: Actor
    jurors: list[Actor]

    @property
    def w3(self) -> Web3:
        return self.requester.w3

    def settle(self, *actors: Actor, limit: int = 60) -> None:
        """Step ``actors`` (default: the watcher and every juror) in turn until a whole round
        of them has nothing left to do now."""
        actors = actors or (self.watcher, *self.jurors)
        for _ in range(limit):
            busy = [a.step() for a in actors]  # every one steps, busy or not
            if not any(busy):
                return
        raise AssertionError(f"still busy after {limit} rounds")

    def drawn(self, dispute_id: int) -> list[Actor]:
        """The jurors of the dispute's current draw, in the jury's order."""
        by_address = {a.address: a for a in self.jurors}
        return [by_address[address] for address in self.requester.jury(dispute_id)]

    def vote(self, *awake: Actor) -> None:
        """The jurors ``awake`` (and the watcher) work through the commit and the reveal period;
        then the watcher resolves the dispute."""
        params = self.requester.params()
        self.settle(self.watcher, *awake)
        time_travel(self.w3, params.commit_period + 1)
        self.settle(self.watcher, *awake)
        time_travel(self.w3, params.reveal_period + 1)
        self.settle(self.watcher, *awake)


@pytest.fixture
def court(chain: Web3, v2_for: Callable[[LocalAccount], TaskMarketV2], accounts: list[LocalAccount],
          store: LocalStore, tmp_path: Path) -> Iterator[Callable[..., Court]]:
    made: list[Actor] = []

    def actor(market: TaskMarketV2, name: str) -> Actor:
        config = VerifierConfig(start_block=0, mine_for_seed=True, work_dir=tmp_path / f"work-{name}",
                                poll_interval_s=0.05, replay_in_process=True)
        made.append(Actor(market, store, tmp_path / name, config))
        return made[-1]

    def make(arithmetic: int = 0) -> Court:
        """``arithmetic``: what the verifiers register with (0: none, tolerance-mode tasks only)."""
        wallets = [Account.from_key(keccak(text=f"idlegrid jury_v2 verifier {i}")) for i in range(VERIFIERS)]
        fund(chain, [w.address for w in wallets])
        markets = [v2_for(w) for w in wallets]
        steps.register(markets, arithmetic)  # with the minimum stake, then a new epoch: the stakes weigh in draws
        return Court(v2_for(accounts[1]), v2_for(accounts[2]), v2_for(accounts[3]),
                     actor(v2_for(accounts[4]), "watcher"),
                     [actor(m, f"juror{i}") for i, m in enumerate(markets)])

    yield make
    for a in made:
        a.history.close()
