"""LogFollower against a real anvil: new events once each, in order, through a log filter, and
through eth_getLogs from its cursor once the node has forgotten the filter."""

from __future__ import annotations

import pytest

from engine.chain import market as m
from engine.chain.events import EventCursor
from engine.chain.follower import LogFollower
from tests.integration.chain import actions as act


@pytest.fixture
def actors(market_for, accounts):  # type: ignore[no-untyped-def]
    return {name: market_for(accounts[i + 1]) for i, name in enumerate(["requester", "worker"])}


def follower(market: m.TaskMarket, start: int) -> LogFollower[m.MarketEvent]:
    return LogFollower(market.w3, market.address, market.decode_log, EventCursor(start))


def test_events_come_once_each_through_the_filter(actors, deployment) -> None:  # type: ignore[no-untyped-def]
    requester, worker = actors["requester"], actors["worker"]
    first = act.post(requester)  # before the follower: delivered by its first call (the catch-up)
    follow = follower(requester, deployment.deploy_block)
    assert [(type(e), e.task_id) for e in follow.changes()] == [(m.TaskPosted, first)]
    assert follow._filter is not None and follow.use_filters
    assert follow.changes() == []
    second = act.post(requester)
    act.claim_and_submit(worker, second, act.checkpoint_tree())
    seen = follow.changes()
    assert [(type(e), e.task_id) for e in seen] == [
        (m.TaskPosted, second), (m.TaskClaimed, second), (m.ResultSubmitted, second)]
    assert follow.changes() == []
    assert follow.use_filters  # every call after the first was one eth_getFilterChanges


def test_a_forgotten_filter_falls_back_to_the_logs_from_the_cursor_and_loses_nothing(
        actors, deployment, chain) -> None:  # type: ignore[no-untyped-def]
    requester, worker = actors["requester"], actors["worker"]
    follow = follower(requester, deployment.deploy_block)
    assert follow.changes() == []
    chain.provider.make_request("eth_uninstallFilter", [follow._filter])  # what a node does to an unpolled filter
    task_id = act.post(requester)
    act.claim_and_submit(worker, task_id, act.checkpoint_tree())
    seen = follow.changes()
    assert [type(e) for e in seen] == [m.TaskPosted, m.TaskClaimed, m.ResultSubmitted]
    assert not follow.use_filters
    assert follow.changes() == []
    again = act.post(requester)
    assert [(type(e), e.task_id) for e in follow.changes()] == [(m.TaskPosted, again)]
