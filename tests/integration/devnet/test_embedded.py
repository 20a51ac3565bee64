"""`idlegrid devnet` runs the blob server and the demo actors, and stops them all cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from eth_account import Account

from engine.chain.anvil import free_port
from engine.chain.devnet import DEV_KEYS, DEVNET_EPOCH_S, deployment_file, network_settings
from engine.chain.events import EventCursor
from engine.chain.market import TaskMarket, TaskPosted
from engine.chain.rpc import connect
from engine.cli import main
from engine.requester.demo import DEMO_REQUESTER_ACCOUNT
from engine.roles.results import parse_blob_uri
from engine.storage import HttpStore

REPO = Path(__file__).resolve().parents[3]
DEMO = Account.from_key(DEV_KEYS[DEMO_REQUESTER_ACCOUNT]).address
# on v2 the demo posts once its verifier's stake counts: its registration, then up to an epoch
FIRST_POSTS_S = 45.0 + 2 * DEVNET_EPOCH_S


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`idlegrid devnet ARGS` in a subprocess, once it printed that it is ready."""
    proc = subprocess.Popen([sys.executable, "-m", "engine", "devnet", *args], cwd=REPO, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "devnet: ready at" in line:
            return proc, "".join(lines)
    proc.kill()
    pytest.fail("devnet did not become ready:\n" + "".join(lines))


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def demo_tasks(market: TaskMarket) -> dict[int, str]:
    """The demo requester's tasks: id -> state."""
    tasks = (market.get_task(i) for i in range(1, market.task_count() + 1))
    return {t.task_id: t.status.name.lower() for t in tasks if t.requester == DEMO}


def wait_for(predicate, timeout: float = 45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail("timed out waiting")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_the_devnet_serves_blobs_runs_the_demo_and_keeps_its_state() -> None:
    port, blob_port = free_port(), free_port()
    proc, text = start("--port", str(port), "--blob-port", str(blob_port), "--demo-interval", "1")
    try:
        blob_url = f"http://127.0.0.1:{blob_port}"
        assert f"devnet: blob server {blob_url}" in text
        assert requests.get(f"{blob_url}/health", timeout=5).status_code == 200
        assert json.loads(deployment_file().read_text())["blob_url"] == blob_url
        assert network_settings().blob_url == blob_url

        market = TaskMarket(connect(f"http://127.0.0.1:{port}"), network_settings().market_address)
        posted = wait_for(lambda: (tasks := demo_tasks(market)) and len(tasks) >= 2 and tasks,
                          timeout=FIRST_POSTS_S)
        assert set(posted.values()) == {"open"}
        time.sleep(3)  # three more turns of the demo: it keeps about two open, no more
        assert len(demo_tasks(market)) == 2
        events, _ = market.poller().poll(EventCursor())
        event = next(e for e in events if isinstance(e, TaskPosted))
        spec_sha = parse_blob_uri(event.spec_uri)
        assert json.loads(HttpStore(blob_url).get_bytes(spec_sha))["name"] == "digits-mlp"
        verifier = re.search(r"demo verifier: dev account \d+, pid (\d+)", text)
    finally:
        out = stop(proc)
    assert "devnet: stopped; chain state saved" in out
    if verifier:  # engine.verifier exists in this build: its process group ended with the devnet
        assert not alive(int(verifier.group(1)))
    assert json.loads(deployment_file().read_text())["blob_url"] is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{blob_url}/health", timeout=2)

    proc, text = start("--port", str(port), "--blob-port", str(blob_port), "--no-demo")
    try:
        assert "demo requester" not in text and "demo verifier" not in text
        market = TaskMarket(connect(f"http://127.0.0.1:{port}"), network_settings().market_address)
        assert demo_tasks(market) == posted  # the chain kept the tasks
        assert HttpStore(blob_url).has(spec_sha)  # the blob server kept the spec
        time.sleep(3)
        assert demo_tasks(market) == posted  # --no-demo: nothing new is posted
    finally:
        stop(proc)


def test_a_blob_port_in_use_is_a_clear_error_and_stops_anvil(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        blob_port = busy.getsockname()[1]
        assert main(["devnet", "--port", str(port), "--blob-port", str(blob_port), "--no-demo"]) == 1
    err = capsys.readouterr().err
    assert f"error: port {blob_port} on 127.0.0.1 (the blob server) is already in use" in err
    assert f"--blob-port {blob_port + 1}" in err
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only TIME_WAIT may remain
        s.bind(("127.0.0.1", port))  # anvil let go of its port


def test_the_blob_port_must_differ_from_the_rpc_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devnet", "--port", "9000", "--blob-port", "9000"]) == 1
    assert "--blob-port 9000 is the RPC port too" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quiet_devnet_still_moves_time_forward() -> None:
    """Without transactions anvil mines nothing; the devnet mines an empty block every few
    seconds so challenge windows end and workers can finalize."""
    port = free_port()
    proc, _ = start("--port", str(port), "--blob-port", str(free_port()), "--no-demo")
    try:
        w3 = connect(f"http://127.0.0.1:{port}")
        first = w3.eth.block_number
        assert wait_for(lambda: w3.eth.block_number > first, timeout=20)
        block = w3.eth.get_block("latest")
        assert len(block["transactions"]) == 0 and time.time() - block["timestamp"] < 10
    finally:
        stop(proc)
