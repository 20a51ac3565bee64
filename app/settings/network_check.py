"""Check a custom network before it is saved (no Qt): node, chain id, market contract, blob server.

Each failure is the specific error of what is wrong (unreachable node, wrong chain, no contract
at the address, a contract that is not a TaskMarket, a blob server that does not answer), so
the dialog can say exactly which field to fix. Fast by design: one retry, a few seconds per
request, since a person is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from app.settings.errors import NotATaskMarket, SettingsInputError
from engine.chain.errors import ChainError, NotDeployed
from engine.chain.market import TaskMarket
from engine.chain.rpc import RetryPolicy, connect, translated
from engine.chain.settings import NetworkSettings
from engine.storage.http import HttpStore

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

SECTION = "Network"
CODE_PROBE = 2048  # bytes of runtime code compared with the shipped contract (immutables come after)


@dataclass(frozen=True)
class NetworkReport:
    """What the check found: enough to show the user that this is the network they meant."""

    chain_id: int
    block_number: int
    task_count: int
    blob_health: dict[str, object]

    def summary(self) -> str:
        return (f"chain id {self.chain_id}, block {self.block_number:,}, "
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
    market = TaskMarket(w3, network.market_address)
    if not _is_taskmarket_code(bytes(code), market.artifact.bytecode):
        raise NotATaskMarket(network.market_address, network.rpc_url,
                             "its code differs from the TaskMarket this version of idlegrid speaks")
    try:
        tasks = market.task_count()
    except ChainError as e:
        raise NotATaskMarket(network.market_address, network.rpc_url, e.message) from None
    health = HttpStore(network.blob_url, timeout=timeout, retries=1, backoff=0.1).health()
    return NetworkReport(chain_id, block, tasks, health)


def _is_taskmarket_code(code: bytes, init_bytecode: str) -> bool:
    """Whether deployed ``code`` is the shipped TaskMarket: its runtime code (before the
    immutables appended at deployment) is carried inside the init bytecode."""
    init = bytes.fromhex(init_bytecode.removeprefix("0x"))
    return len(code) >= CODE_PROBE and code[:CODE_PROBE] in init
