"""What time and block it is on chain: the one place the roles ask for "now".

Deadlines on the market are checked against block timestamps, not the wall clock. The last
block's timestamp is what the chain has agreed on; the next block will carry at least the
wall-clock time, which matters on a devnet that mines only when a transaction arrives (its
latest block can be minutes old). Roles pick which of the two they mean by name.
"""

from __future__ import annotations

import time

from web3 import Web3

from engine.chain.anvil import mine
from engine.chain.rpc import translated


class ChainClock:
    """Block numbers, hashes and timestamps of one chain."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3

    def latest(self) -> int:
        """The latest block's timestamp (seconds)."""
        with translated("eth_getBlockByNumber"):
            return int(self._w3.eth.get_block("latest")["timestamp"])

    def next_block_time(self) -> int:
        """The time the next block will carry: the latest block's timestamp, or the wall clock
        when no block was mined for a while."""
        return max(self.latest(), int(time.time()))

    def block_number(self) -> int:
        with translated("eth_blockNumber"):
            return int(self._w3.eth.block_number)

    def timestamp(self, number: int) -> int:
        """Block ``number``'s timestamp (seconds): when an event logged in it happened."""
        with translated("eth_getBlockByNumber"):
            return int(self._w3.eth.get_block(number)["timestamp"])

    def block_hash(self, number: int) -> bytes:
        with translated("eth_getBlockByNumber"):
            return bytes(self._w3.eth.get_block(number)["hash"])

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (anvil only: a devnet that would otherwise wait)."""
        mine(self._w3, blocks)
