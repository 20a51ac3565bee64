"""Check a custom network before it is saved (no Qt): node, chain id, market contract, blob server.

Each failure is the specific error of what is wrong (unreachable node, wrong chain, no contract
at the address, a contract that is not a TaskMarket, a blob server that does not answer), so
the dialog can say exactly which field to fix. The market may be either shipped version
(TaskMarket v1 or v2, told apart by the code on chain); the report says which. Fast by
design: one retry, a few seconds per request, since a person is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from app.settings.errors import NotATaskMarket, SettingsInputError
from engine.chain.errors import ChainError, NotDeployed
from engine.chain.rpc import RetryPolicy, connect, translated
from engine.chain.settings import NetworkSettings
from engine.chain.version import MarketVersion, market_version
from engine.network.client import market_at
from engine.storage.http import HttpStore

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

SECTION = "Network"


@dataclass(frozen=True)
class NetworkReport:
    """What the check found: enough to show the user that this is the network they meant."""

    chain_id: int
    block_number: int
    task_count: int
    blob_health: dict[str, object]
    version: MarketVersion

    def summary(self) -> str:
        return (f"chain id {self.chain_id}, block {self.block_number:,}, TaskMarket {self.version.value}, "
                f"{self.task_count:,} tasks on the market, blob server ok")


def check_network(network: NetworkSettings, *, timeout: float = 5.0) -> NetworkReport:
    """Connect to ``network`` and prove each part works; raises the error of the first that does not."""
    if network.market_address is None:
        raise SettingsInputError(SECTION, "Market address", "is empty",
                                 hint="enter the TaskMarket contract address of this network (0x + 40 hex digits)")
    if network.blob_url is None:
        raise SettingsInputError(SECTION, "Blob server URL", "is empty",
                                 hint="enter the URL of the network's blob server, e.g. https://blobs.example.org")
    policy = RetryPolicy(attempts=2, first_delay=0.2, request_timeout=timeout)
    w3 = connect(network.rpc_url, expected_chain_id=network.chain_id, policy=policy)
    with translated("eth_getCode"):
        code = w3.eth.get_code(cast("ChecksumAddress", network.market_address))
        block = w3.eth.block_number
        chain_id = w3.eth.chain_id
    if len(code) == 0:
        raise NotDeployed(network.market_address, network.rpc_url)
    version = market_version(w3, network.market_address)
    if version is None:
        raise NotATaskMarket(network.market_address, network.rpc_url,
                             "its code is neither TaskMarket v1 nor v2, the versions this idlegrid speaks")
    market = market_at(w3, network.market_address, version)
    try:
        tasks = market.task_count()
    except ChainError as e:
        raise NotATaskMarket(network.market_address, network.rpc_url, e.message) from None
    health = HttpStore(network.blob_url, timeout=timeout, retries=1, backoff=0.1).health()
    return NetworkReport(chain_id, block, tasks, health, version)
