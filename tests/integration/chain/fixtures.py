"""Shared chain fixtures (a pytest plugin): one anvil per test session, a snapshot per test.

Any test folder can use them: name this module in the top-level ``tests/conftest.py``,
``pytest_plugins = ["tests.integration.chain.fixtures"]`` (this folder's conftest then
leaves it alone).

- ``anvil_node``: the devnet's anvil (same launcher as ``idlegrid devnet``) on a free port.
- ``deployment``: TaskMarket deployed once per session by dev account 0.
- ``chain``: a ``Web3`` on that node, rolled back after the test (``evm_snapshot``/``evm_revert``).
- ``accounts``: anvil's deterministic dev accounts (eth-account ``LocalAccount``s).
- ``market_for``: ``market_for(account)`` -> a ``TaskMarket`` client signing as ``account``.
- ``deployment_v2``, ``v2_for``: the same for TaskMarketV2 (deployed once per session, on first use).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from engine.chain.anvil import Anvil, AnvilConfig, free_port, revert, rpc, snapshot
from engine.chain.devnet import DEV_KEYS, Deployment, deploy_market, deploy_market_v2
from engine.chain.market import TaskMarket
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.rpc import connect


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with Anvil(AnvilConfig(port=free_port(), log_file=log)) as node:
        yield node


@pytest.fixture(scope="session")
def session_w3(anvil_node: Anvil) -> Web3:
    return connect(anvil_node.url)


@pytest.fixture(scope="session")
def accounts() -> list[LocalAccount]:
    return [Account.from_key(key) for key in DEV_KEYS]


@pytest.fixture(scope="session")
def deployment(session_w3: Web3, accounts: list[LocalAccount]) -> Deployment:
    return deploy_market(session_w3, accounts[0], rpc_url=session_w3.provider.endpoint_uri)


@pytest.fixture
def chain(session_w3: Web3) -> Iterator[Web3]:
    """The session's node, rolled back after the test. ``evm_revert`` also turns anvil's clock back
    to the snapshot's, so without the reset every test would leave the chain further behind the
    wall clock (by the time the test held its snapshot: minutes late in a full run), and code that
    compares a chain deadline with the wall clock would be misled."""
    snap = snapshot(session_w3)
    try:
        yield session_w3
    finally:
        rpc(session_w3, "evm_setAutomine", True)
        revert(session_w3, snap)
        latest = int(session_w3.eth.get_block("latest")["timestamp"])
        rpc(session_w3, "evm_setTime", max(latest, int(time.time())))


@pytest.fixture
def market_for(chain: Web3, deployment: Deployment) -> Callable[[LocalAccount], TaskMarket]:
    def make(account: LocalAccount) -> TaskMarket:
        return TaskMarket(chain, deployment.market_address, account)

    return make



@pytest.fixture(scope="session")
def deployment_v2(session_w3: Web3, accounts: list[LocalAccount]) -> Deployment:
    return deploy_market_v2(session_w3, accounts[0], rpc_url=session_w3.provider.endpoint_uri)


@pytest.fixture
def v2_for(chain: Web3, deployment_v2: Deployment) -> Callable[[LocalAccount], TaskMarketV2]:
    def make(account: LocalAccount) -> TaskMarketV2:
        return TaskMarketV2(chain, deployment_v2.market_address, account, deploy_block=deployment_v2.deploy_block)

    return make
