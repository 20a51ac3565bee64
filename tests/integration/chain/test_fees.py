"""EIP-1559 fees on a chain whose base fee spikes: a stuck transaction is replaced (same nonce,
fee raised to what the new base fee asks, never above the user's ceiling), and a base fee over
the ceiling makes the sender wait in plain words instead of overpaying.

The spike is real: ``anvil_setNextBlockBaseFeePerGas`` before every block a background miner
builds, with automine off, as on a chain whose blocks come on their own clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Self

import pytest
from web3 import Web3

from engine.chain.anvil import mine, revert, rpc, snapshot
from engine.chain.errors import GasTooHigh, TransactionTimeout
from engine.chain.sender import PreparedTx, Sender, SendPolicy
from tests.integration.chain.test_sender import transfer

GWEI = 10**9
BASE = GWEI


class Miner:
    """Mines a block every ``every`` seconds at base fee ``base`` (changeable while it runs)."""

    def __init__(self, w3: Web3, base: int, every: float = 0.3) -> None:
        self.w3, self.base, self.every = w3, base, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rpc(self.w3, "anvil_setNextBlockBaseFeePerGas", hex(self.base))
            mine(self.w3)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def slow_chain(chain: Web3) -> Iterator[Web3]:
    """No automine, the base fee pinned at 1 gwei (the next block's). anvil's evm_revert does
    not roll back the next block's base fee, so it is set back to the snapshot's own after."""
    before = chain.eth.get_block("latest")["baseFeePerGas"]
    snap = snapshot(chain)
    rpc(chain, "evm_setAutomine", False)
    rpc(chain, "anvil_setNextBlockBaseFeePerGas", hex(BASE))
    mine(chain)
    yield chain
    revert(chain, snap)
    rpc(chain, "anvil_setNextBlockBaseFeePerGas", hex(before))


def policy(ceiling: int | None) -> SendPolicy:
    return SendPolicy(receipt_timeout=1.5, poll_interval=0.05, rebroadcasts=4, max_fee_per_gas=ceiling)


def test_a_tx_stuck_under_a_10x_base_fee_spike_is_replaced_with_the_same_nonce(slow_chain: Web3, accounts) -> None:
    sender = Sender(slow_chain, accounts[1], policy(ceiling=50 * GWEI))
    prepared = sender.prepare(transfer(accounts[2].address), function="transfer")
    assert prepared.tx["maxFeePerGas"] < 10 * BASE  # priced for today's base fee, not for a spike
    journaled: list[PreparedTx] = []
    with Miner(slow_chain, base=10 * BASE):
        sender.broadcast(prepared)
        receipt = sender.wait(prepared, journal=journaled.append)
    mined = receipt["transactionHash"].to_0x_hex()
    assert mined != prepared.tx_hash and mined in [p.tx_hash for p in journaled]
    assert len(journaled) == 1  # one replacement meets the spike: priced at today's base fee
    replacement = journaled[0]
    assert replacement.nonce == prepared.nonce
    assert 20 * BASE <= replacement.tx["maxFeePerGas"] <= 50 * GWEI
    assert slow_chain.eth.get_transaction_count(accounts[1].address) == prepared.nonce + 1  # one tx, not two


def test_a_replacement_is_priced_at_the_ceiling_never_above(slow_chain: Web3, accounts) -> None:
    sender = Sender(slow_chain, accounts[1], policy(ceiling=12 * GWEI))
    prepared = sender.prepare(transfer(accounts[2].address), function="transfer")
    journaled: list[PreparedTx] = []
    with Miner(slow_chain, base=10 * BASE):
        sender.broadcast(prepared)
        receipt = sender.wait(prepared, journal=journaled.append)
    assert receipt["status"] == 1
    assert [p.tx["maxFeePerGas"] for p in journaled] == [12 * GWEI]


def test_no_replacement_over_the_ceiling_the_tx_waits_instead(slow_chain: Web3, accounts) -> None:
    sender = Sender(slow_chain, accounts[1], policy(ceiling=3 * GWEI + 10**8))
    sender.policy = SendPolicy(receipt_timeout=0.5, poll_interval=0.05, rebroadcasts=2,
                               max_fee_per_gas=sender.policy.max_fee_per_gas)
    prepared = sender.prepare(transfer(accounts[2].address), function="transfer")
    journaled: list[PreparedTx] = []
    with Miner(slow_chain, base=10 * BASE), pytest.raises(TransactionTimeout) as e:
        sender.broadcast(prepared)
        sender.wait(prepared, journal=journaled.append)
    assert journaled == [] and e.value.tx_hashes == [prepared.tx_hash]


def test_a_base_fee_over_the_ceiling_says_waiting_gas_too_high(slow_chain: Web3, accounts) -> None:
    rpc(slow_chain, "anvil_setNextBlockBaseFeePerGas", hex(10 * BASE))
    mine(slow_chain)
    sender = Sender(slow_chain, accounts[1], policy(ceiling=5 * GWEI))
    with pytest.raises(GasTooHigh) as e:
        sender.prepare(transfer(accounts[2].address), function="transfer")
    assert e.value.message.startswith("waiting: gas too high for transfer (base fee 10 gwei")
    assert "max_fee_per_gas" in (e.value.hint or "")
