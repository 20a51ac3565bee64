"""One test network: anvil (the same launcher as ``idlegrid devnet``), the TaskMarket deployed
with the devnet's parameters, and a real blob server, all on free ports.

The chain keeps its state in a file, so a test can stop anvil (the node goes away, as a
remote RPC endpoint would) and start it again on the same port with everything in place.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from eth_account import Account
from web3 import Web3

from engine.chain.anvil import Anvil, AnvilConfig, free_port, mine, rpc, time_travel
from engine.chain.contract import MarketClient
from engine.chain.devnet import DEV_KEYS, Deployment, deploy_market, deploy_market_v2
from engine.chain.market import TaskMarket
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.rpc import connect
from engine.chain.version import MarketVersion
from engine.storage.server import BlobServer
from tests.e2e.actors import Actor, make_actor


class TestNet:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, root: Path, *, version: MarketVersion = MarketVersion.V1,
                 params: dict[str, int] | None = None) -> None:
        """``version``: which TaskMarket to deploy; ``params``: v2 constructor values other than
        the devnet's (e.g. a jury of three)."""
        self.root = root
        self.version = version
        self.params = params or {}
        root.mkdir(parents=True, exist_ok=True)
        self.anvil = Anvil(AnvilConfig(port=free_port(), state_file=root / "anvil-state.json",
                                       state_interval=1, log_file=root / "anvil.log"))
        self.blobs = BlobServer(root / "blobs")
        self.w3: Web3 | None = None
        self.deployment: Deployment | None = None
        self._head_time = 0

    def start(self) -> TestNet:
        self.anvil.start()
        self.w3 = connect(self.anvil.url)
        self.blobs.start()
        deployer = Account.from_key(DEV_KEYS[0])
        if self.version is MarketVersion.V2:
            deployed = deploy_market_v2(self.w3, deployer, rpc_url=self.anvil.url, constructor=self.params)
        else:
            deployed = deploy_market(self.w3, deployer, rpc_url=self.anvil.url)
        self.deployment = replace(deployed, blob_url=self.blobs.url)
        return self

    def stop(self) -> None:
        self.blobs.stop()
        self.anvil.stop()

    def __enter__(self) -> TestNet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def rpc_url(self) -> str:
        return self.anvil.url

    def market(self, actor: Actor | None = None) -> TaskMarket:
        """A client of the v1 market, signing as ``actor`` (None: read-only)."""
        signer = Account.from_key(actor.key) if actor is not None else None
        return TaskMarket(self.w3, self.deployment.market_address, signer)

    def market_v2(self, actor: Actor | None = None) -> TaskMarketV2:
        """A client of the v2 market (``version=MarketVersion.V2``), signing as ``actor``."""
        signer = Account.from_key(actor.key) if actor is not None else None
        return TaskMarketV2(self.w3, self.deployment.market_address, signer,
                            deploy_block=self.deployment.deploy_block)

    def client(self) -> MarketClient:
        """A read-only client of whichever market is deployed."""
        return self.market_v2() if self.version is MarketVersion.V2 else self.market()

    def actor(self, name: str, index: int, *, blob_url: str | None = None, **sections: dict) -> Actor:
        """An actor with its own home under the network's folder (``blob_url``: another blob
        server than the network's, e.g. a lying proxy in front of it)."""
        deployment = self.deployment if blob_url is None else replace(self.deployment, blob_url=blob_url)
        return make_actor(self.root / "homes", name, index, deployment, **sections)

    def mine(self, blocks: int = 1) -> None:
        mine(self.w3, blocks)

    def time_travel(self, seconds: int) -> None:
        time_travel(self.w3, seconds)

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def stop_chain(self) -> None:
        """Stop anvil (its state is dumped to the state file): the RPC endpoint is gone."""
        self._head_time = self.now()
        self.anvil.stop()

    def restart_chain(self) -> None:
        """Start anvil again on the same port, from the state it dumped.

        anvil's state file keeps the blocks but not the clock offset of earlier time travel,
        so new blocks would be stamped *before* the last one; move the clock on past it.
        """
        self.anvil.start()
        behind = self._head_time - self.w3.eth.get_block("pending")["timestamp"] + 1
        if behind > 0:
            rpc(self.w3, "evm_increaseTime", behind)
