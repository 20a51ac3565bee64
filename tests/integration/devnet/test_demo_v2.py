"""`idlegrid devnet --market v2` runs the demo actors too (a real devnet subprocess: anvil, blob
server, the demo requester thread and the demo verifier subprocess): the demo requester keeps
two digits tasks open on v2, each escrowing the reward plus the verification fee, and the demo
verifier keeps running on v2. It used to run the demo on v1 only, so a v2 devnet stayed empty."""

from __future__ import annotations

import re
import time

import pytest

from engine.chain.anvil import free_port
from engine.chain.devnet import network_settings
from engine.chain.market_v2 import TaskMarketV2, payment_for
from engine.chain.records_v2 import TaskStatusV2
from engine.chain.rpc import connect
from engine.requester.demo import DemoConfig
from tests.integration.devnet.test_embedded import DEMO, FIRST_POSTS_S, alive, start, stop, wait_for


def demo_tasks(market: TaskMarketV2) -> dict[int, TaskStatusV2]:
    tasks = (market.get_task(i) for i in range(1, market.task_count() + 1))
    return {t.task_id: t.status for t in tasks if t.requester == DEMO}


@pytest.mark.slow
def test_a_v2_devnet_runs_the_demo_requester_and_verifier() -> None:
    port = free_port()
    proc, text = start("--port", str(port), "--blob-port", str(free_port()), "--demo-interval", "1",
                       "--market", "v2")
    try:
        market = TaskMarketV2(connect(f"http://127.0.0.1:{port}"), network_settings().market_address)
        posted = wait_for(lambda: (tasks := demo_tasks(market)) and len(tasks) >= 2 and tasks,
                          timeout=FIRST_POSTS_S)
        assert set(posted.values()) == {TaskStatusV2.OPEN}
        payment = payment_for(DemoConfig().reward, market.params().audit_fee_bps)
        assert {market.get_task(i).reward for i in posted} == {payment}
        time.sleep(3)  # three more turns of the demo: it keeps about two open, no more
        assert len(demo_tasks(market)) == 2
        verifier = re.search(r"demo verifier: dev account \d+, pid (\d+)", text)
        assert verifier is not None and alive(int(verifier.group(1)))
    finally:
        out = stop(proc)
    assert "demo verifier exited" not in out and "run on v1 only" not in text + out
    assert not alive(int(verifier.group(1)))
