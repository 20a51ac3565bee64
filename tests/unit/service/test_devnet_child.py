"""The embedded devnet: `idlegrid devnet` as a real child process, found, reused, stopped."""

from __future__ import annotations

import socket
import sys
import threading
import time

import pytest

from engine.chain.anvil import free_port
from engine.chain.devnet import state_file
from engine.chain.settings import NetworkSettings, save_network
from engine.service.devnet_child import DevnetProcess, devnet_wanted, running_devnet
from engine.service.errors import DevnetStartError


@pytest.mark.slow
def test_the_devnet_child_starts_is_found_running_and_saves_its_state_on_stop() -> None:
    assert running_devnet() is None
    child = DevnetProcess(port=free_port(), blob_port=free_port())
    deployment = child.start()
    try:
        assert child.running()
        assert running_devnet() == deployment       # a second app would reuse it, not start another
        assert deployment.chain_id == 31337
    finally:
        code = child.stop()
    assert code == 0 and state_file().is_file()     # SIGINT: anvil dumped the chain
    assert running_devnet() is None
    assert "devnet: ready at" in child.log_path.read_text()


def test_a_devnet_that_cannot_start_says_why_and_where_its_log_is() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        child = DevnetProcess(port=port, blob_port=free_port())
        with pytest.raises(DevnetStartError) as e:
            child.start(timeout=60)
    assert f"port {port} on 127.0.0.1 is already in use" in e.value.message
    assert str(child.log_path) in (e.value.hint or "")


def test_a_child_that_never_gets_ready_is_stopped_after_the_timeout() -> None:
    child = DevnetProcess(command=[sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(DevnetStartError, match="not ready after 1 s"):
        child.start(timeout=1)
    assert not child.running()


def test_quitting_while_the_devnet_starts_stops_the_child_at_once() -> None:
    cancel = threading.Event()
    child = DevnetProcess(command=[sys.executable, "-c", "import time; time.sleep(60)"])
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    assert child.start(timeout=60, cancel=cancel) is None
    assert time.monotonic() - started < 10 and not child.running()


def test_the_devnet_is_wanted_only_while_no_market_is_configured() -> None:
    assert devnet_wanted()
    save_network(NetworkSettings(rpc_url="https://rpc.example.org", market_address="0x" + "11" * 20))
    assert not devnet_wanted()


def test_the_devnet_profile_wants_the_devnet_even_before_one_was_deployed() -> None:
    """`idlegrid network use devnet` (or the app's Local devnet kept as a profile) names the
    built-in profile; resolving it needs a deployed devnet, so asking whether the devnet is
    wanted must not depend on one being there already (it raised ProfileError)."""
    save_network(NetworkSettings(profile="devnet"))
    assert devnet_wanted()
