"""TaskMarketV2 on a real anvil: the chain fixtures of ``tests.integration.chain.fixtures`` (one
anvil per session, a snapshot per test, ``deployment_v2`` and ``v2_for``: a v2 market deployed
once by dev account 0).

(A conftest cannot itself be listed in ``pytest_plugins``: pytest would register it twice.)
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from engine.chain.devnet import fund
from engine.chain.market_v2 import TaskMarketV2

PLUGIN = "tests.integration.chain.fixtures"
VERIFIERS = 7  # a 5-juror jury that excludes the worker and the challenger, with seats to spare


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture
def actors(v2_for, accounts) -> dict[str, TaskMarketV2]:
    """requester, worker, challenger and demander (dev accounts 1-4), each with its own client."""
    return {name: v2_for(accounts[i + 1]) for i, name in enumerate(["requester", "worker", "challenger", "demander"])}


@pytest.fixture
def verifiers(chain, v2_for) -> list[TaskMarketV2]:
    """Seven funded accounts beyond anvil's ten (deterministic keys), not yet registered."""
    keys = [keccak(text=f"idlegrid chain_v2 verifier {i}") for i in range(VERIFIERS)]
    wallets = [Account.from_key(k) for k in keys]
    fund(chain, [w.address for w in wallets])
    return [v2_for(w) for w in wallets]
