"""The ``chain`` fixture keeps the session's anvil on the wall clock.

``evm_revert`` turns anvil's clock back to the snapshot's, so each test used to leave the chain
behind by the time it held its snapshot; late in a full run that was many minutes, and a
worker comparing a chain deadline with the wall clock read every 600 s window as over (session
7's CI failure of tests/integration/worker/test_waiting.py).
"""

from __future__ import annotations

import time

from web3 import Web3

from engine.chain.anvil import mine

HELD_S = 3.0


def test_a_test_that_holds_its_snapshot_a_while(chain: Web3) -> None:
    mine(chain)
    time.sleep(HELD_S)


def test_the_next_test_finds_the_chain_on_the_wall_clock(chain: Web3) -> None:
    mine(chain)
    lag = time.time() - int(chain.eth.get_block("latest")["timestamp"])
    assert lag < HELD_S - 1, f"the chain's clock is {lag:.1f} s behind the wall clock"
