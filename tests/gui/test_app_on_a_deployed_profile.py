"""The app on a network that ``idlegrid network deploy`` made, with no devnet code in the path.

A fresh anvil mining a block every second (not the session's automining one, whose market the
devnet tests share: a profile waits for confirmations, which a node that mines only on demand
never gives) gets its TaskMarket from ``idlegrid network deploy --use``, the CLI a user runs:
the settings then name that profile and nothing else. The real app (offscreen widgets) starts the real engine service
(``idlegrid daemon run``), which opens the profile's market, claims the task posted there,
trains and commits it. Its ``status`` says no devnet child runs and that the market is the
profile's, and no devnet deployment was ever written: the devnet is one profile among others,
not a path the app depends on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from PySide6.QtCore import QTimer

from app.shell import Shell
from engine.chain.anvil import DEV_CHAIN_ID, Anvil, AnvilConfig, free_port
from engine.chain.devnet import DEV_KEYS, deployment_file
from engine.chain.market import TaskMarket, TaskStatus
from engine.chain.rpc import connect
from engine.chain.settings import load_network
from engine.service import client
from engine.storage import BlobServer, HttpStore
from tests.conftest import REPO
from tests.gui.keystores import type_passphrase, work_always_on_the_cpu
from tests.integration.worker.helpers import Poster, tiny_spec

TIMEOUT_MS = 240_000
DEPLOYED = re.compile(r"deployed TaskMarket at (0x[0-9a-fA-F]{40}) in block (\d+)")


def _deploy(rpc_url: str, blob_url: str) -> str:
    """``idlegrid network deploy ... --use`` as a user runs it: the market's address."""
    done = subprocess.run([sys.executable, "-m", "engine", "network", "deploy", "--rpc", rpc_url, "--name", "fresh",
                           "--blob-url", blob_url, "--confirmations", "1", "--dev-account", "0", "--yes", "--use",
                           "--market", "v1"],   # the v1 client below posts the task
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    found = DEPLOYED.search(done.stdout)
    assert found, done.stdout
    return found.group(1)


@pytest.fixture
def fresh_anvil(tmp_path: Path) -> Iterator[Anvil]:
    anvil = Anvil(AnvilConfig(port=free_port(), block_time=1, log_file=tmp_path / "anvil.log")).start()
    try:
        yield anvil
    finally:
        anvil.stop()


@pytest.mark.slow
def test_the_app_works_a_deployed_profile_with_no_devnet_child(
        qtbot, qapp, tmp_path: Path, idlegrid_home: Path, fresh_anvil: Anvil, no_service_left) -> None:
    with BlobServer(tmp_path / "server-blobs") as server:
        address = _deploy(fresh_anvil.url, server.url)
        network = load_network()
        assert (network.profile, network.market_address) == ("fresh", address)
        work_always_on_the_cpu(tmp_path / "wallet.json")
        w3 = connect(fresh_anvil.url)
        market = TaskMarket(w3, address, Account.from_key(DEV_KEYS[0]))
        task_id = Poster(market, HttpStore(server.url)).post(tiny_spec())

        shell = Shell(qapp, gpu_backend=None, quit_app=False)
        QTimer.singleShot(100, type_passphrase)
        shell.start()
        qtbot.waitUntil(lambda: market.get_task(task_id).status == TaskStatus.SUBMITTED, timeout=TIMEOUT_MS)

        status = client.request("status")
        assert status["devnet_child"] is False
        assert status["network"] == {"chain_id": DEV_CHAIN_ID, "market": address, "devnet": False}
        assert market.get_task(task_id).worker.lower() == Account.from_key(DEV_KEYS[1]).address.lower()
        assert not deployment_file().exists()

        with qtbot.waitSignal(shell.quit_finished, timeout=120_000):
            shell.quit(stop_service=True)           # "Quit and stop earning"
        assert not client.is_running()
