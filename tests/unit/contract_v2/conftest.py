"""TaskMarketV2 fixtures: one deployment per module; titanoboa's pytest plugin anchors every test."""

from __future__ import annotations

import boa
import pytest

from tests.unit.contract_v2 import actions


@pytest.fixture(scope="module", autouse=True)
def v2_env():
    """Each module in its own boa environment: contracts another test directory registered at the
    same addresses (v1's, in tests/unit/contract) would otherwise stand in for TaskMarketV2 when
    boa describes a revert."""
    with boa.swap_env(boa.Env()):
        yield


@pytest.fixture(scope="module")
def market(v2_env):
    return actions.deploy()


@pytest.fixture
def requester():
    return actions.actor()


@pytest.fixture
def worker():
    return actions.actor()


@pytest.fixture
def challenger():
    return actions.actor()


@pytest.fixture
def stranger():
    return actions.actor()


@pytest.fixture
def verifiers(market):
    """Seven registered verifiers with the minimum stake, in the stake snapshot (next epoch)."""
    accounts = [actions.actor() for _ in range(7)]
    for account in accounts:
        actions.register(market, account)
    actions.next_epoch(market)
    return accounts


@pytest.fixture
def submitted(market, requester, worker):
    """A task claimed by `worker` with an 8-leaf result submitted: (task id, Merkle tree)."""
    return actions.posted_and_submitted(market, requester, worker)


@pytest.fixture
def disputed(market, requester, worker, challenger, verifiers):
    """A submitted 8-leaf result challenged on segment 3, jury drawn: (task id, dispute id, tree, jury)."""
    task_id, tree = actions.posted_and_submitted(market, requester, worker)
    dispute_id = actions.challenge(market, challenger, task_id, tree, segment=3)
    return task_id, dispute_id, tree, actions.draw(market, dispute_id)
