"""What the coordinator's short pause costs: a turn in which nothing happened asks the node for
the head's number and nothing else, so polling every 0.25 s is one small request, and reading
results late (the old doubling pause, up to 4 s) is not worth saving it."""

from __future__ import annotations

from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from engine.chain.anvil import Anvil
from engine.chain.devnet import Deployment
from engine.chain.market import TaskMarket
from engine.chain.rpc import connect
from engine.history import History
from engine.requester import Requester
from engine.search.chainport import ChainMarket
from engine.search.coordinator import Coordinator, SearchConfig
from engine.search.load import load_space
from engine.search.port import Terms
from engine.search.state import SearchState
from engine.storage import BlobServer, HttpStore, LocalStore
from tests.rpcproxy import RpcProxy
from tests.unit.search.spaces import SPACES


def test_a_quiet_turn_asks_the_node_for_the_head_and_nothing_else(
        chain: Web3, anvil_node: Anvil, deployment: Deployment, accounts: list[LocalAccount],
        blob_server: BlobServer, history: History, tmp_path: Path) -> None:
    proxy = RpcProxy(anvil_node.url).start()
    try:
        market = TaskMarket(connect(proxy.url), deployment.market_address, accounts[1])
        requester = Requester(market, HttpStore(blob_server.url), history, local=LocalStore(tmp_path / "local"))
        c = Coordinator(load_space(SPACES / "digits.json"), SearchState(tmp_path / "search.sqlite3"),
                        ChainMarket(requester, tmp_path), SearchConfig(budget=1, parallel=1),
                        Terms(reward=10**16, window=60))
        c.resume()
        assert c.turn()                                      # posts the one candidate
        assert c.progress().in_flight == 1
        c.turn()                                             # reads its own post's events
        before = len(proxy.methods)
        assert [c.turn() for _ in range(3)] == [False, False, False]
        assert proxy.methods[before:] == ["eth_blockNumber"] * 3
        assert c.config.poll_s <= 0.25
    finally:
        proxy.kill()
