"""Gas of the happy path, measured as receipts would report it (see actions.tx_gas)."""

from __future__ import annotations

import boa
import pytest

from tests.unit.contract_v2 import actions as a

HAPPY_PATH_LIMIT = 300_000


def happy_path_gas(market, requester, worker) -> dict[str, int]:
    tree = a.MerkleTree(a.leaves(8))
    gas = {"postTask": a.tx_gas(market, "postTask", a.SPEC_HASH, a.SPEC_URI, a.STAKE, a.CLAIM_TIMEOUT,
                                a.TRAIN_TIMEOUT, a.CHALLENGE_WINDOW, 0, value=a.REWARD, sender=requester)}
    task_id = market.taskCount()
    gas["claimTask"] = a.tx_gas(market, "claimTask", task_id, value=a.STAKE, sender=worker)
    gas["submitResult"] = a.tx_gas(market, "submitResult", task_id, tree.root, len(tree), a.RESULT_URI,
                                   sender=worker)
    a.advance(a.CHALLENGE_WINDOW + 1)
    gas["finalize"] = a.tx_gas(market, "finalize", task_id, sender=worker)
    gas["withdraw"] = a.tx_gas(market, "withdraw", sender=worker)
    return gas


@pytest.fixture
def fresh_env():
    """A separate boa environment: tx_gas locks state, which must not touch the anchored one."""
    with boa.swap_env(boa.Env()):
        yield


@pytest.mark.ignore_isolation  # titanoboa's plugin would anchor the fresh env, which locking breaks
def test_happy_path_stays_under_the_gas_limit(fresh_env):
    market = a.deploy()
    requester, worker = a.actor(), a.actor()
    first = happy_path_gas(market, requester, worker)  # the market's first task: all slots fresh
    second = happy_path_gas(market, requester, worker)
    for name, gas in {"first": first, "second": second}.items():
        print(f"{name} task: {gas} total {sum(gas.values())}")
    assert sum(first.values()) <= HAPPY_PATH_LIMIT
    assert sum(second.values()) <= sum(first.values())
