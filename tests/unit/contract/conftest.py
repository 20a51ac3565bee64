"""TaskMarket fixtures: one deployment per module; titanoboa's pytest plugin anchors every test."""

from __future__ import annotations

import pytest

from tests.unit.contract import actions


@pytest.fixture(scope="module")
def market():
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
    """Five registered verifiers with the minimum stake."""
    accounts = [actions.actor() for _ in range(5)]
    for account in accounts:
        actions.register(market, account)
    return accounts


@pytest.fixture
def submitted(market, requester, worker):
    """A task claimed by `worker` with an 8-leaf result submitted: (task id, Merkle tree)."""
    return actions.posted_and_submitted(market, requester, worker)


@pytest.fixture
def disputed(market, submitted, challenger, verifiers):
    """`submitted`, challenged on segment 3, jury drawn: (task id, tree, jury)."""
    task_id, tree = submitted
    actions.challenge(market, challenger, task_id, tree, segment=3)
    return task_id, tree, actions.draw(market, task_id)
