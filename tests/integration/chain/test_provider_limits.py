"""Reading the chain through providers that behave like public ones: a capped eth_getLogs
range, rate limits, and an endpoint that dies (failover to the next one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.chain.anvil import Anvil, mine
from engine.chain.events import EventCursor
from engine.chain.market import TaskMarket, TaskPosted
from engine.chain.rpc import RetryPolicy, connect
from tests.integration.chain.actions import post
from tests.rpcproxy import RpcProxy

FAST = RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.2, request_timeout=5)


@pytest.fixture
def proxies(anvil_node: Anvil) -> Iterator[list[RpcProxy]]:
    made: list[RpcProxy] = []

    def make(**options: object) -> RpcProxy:
        made.append(RpcProxy(anvil_node.url, **options).start())  # type: ignore[arg-type]
        return made[-1]

    yield make  # type: ignore[misc]
    for proxy in made:
        proxy.kill()


def test_events_are_read_in_windows_the_provider_accepts(chain, market_for, accounts, deployment, proxies) -> None:
    requester = market_for(accounts[1])
    ids = []
    for _ in range(3):
        ids.append(post(requester))
        mine(chain, 15)
    proxy = proxies(max_log_range=10)
    market = TaskMarket(connect(proxy.url, policy=FAST), deployment.market_address,
                        deploy_block=deployment.deploy_block, log_range=2_000)
    events, cursor = market.poller().poll(EventCursor())
    assert [e.task_id for e in events if isinstance(e, TaskPosted)] == ids
    assert cursor.next_block == chain.eth.block_number + 1
    assert proxy.refused_ranges > 0 and market.logs.max_range <= 10
    refused = proxy.refused_ranges
    assert [e.task_id for e in market.task_events(TaskPosted, ids[1])] == [ids[1]]
    assert proxy.refused_ranges == refused  # the narrowed window is remembered: no new refusals


def test_scans_start_at_the_deploy_block(chain, market_for, accounts, deployment, proxies) -> None:
    proxy = proxies()
    market = TaskMarket(connect(proxy.url, policy=FAST), deployment.market_address,
                        deploy_block=chain.eth.block_number, log_range=1)
    mine(chain, 3)
    market.poller().poll(EventCursor(0))
    assert proxy.methods.count("eth_getLogs") == 4  # the deploy block and the 3 after, not the blocks before


def test_a_rate_limited_provider_is_retried_with_back_off(chain, deployment, proxies) -> None:
    proxy = proxies(rate_limit_every=2)
    market = TaskMarket(connect(proxy.url, policy=FAST), deployment.market_address)
    for _ in range(5):
        assert market.task_count() >= 0
    assert proxy.rate_limited >= 2


def test_a_dead_endpoint_fails_over_to_the_next(chain, market_for, accounts, deployment, proxies) -> None:
    first, second = proxies(), proxies()
    w3 = connect(first.url, policy=FAST, fallbacks=[second.url])
    market = TaskMarket(w3, deployment.market_address, accounts[1])
    task_id = post(market)
    first.kill()
    served = second.requests
    assert market.get_task(task_id).reward > 0
    market.cancel_task(task_id).send()   # a write too, through the endpoint that is left
    assert second.requests > served
