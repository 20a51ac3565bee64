"""`idlegrid devnet`: clear errors at start, deploy once, funded accounts, state kept across restarts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account

from engine.chain.anvil import Anvil, AnvilConfig, free_port
from engine.chain.devnet import DEV_KEYS, deployment_file, state_file
from engine.chain.errors import DevnetError
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.rpc import connect
from engine.chain.sender import Sender
from engine.cli import main
from tests.integration.chain_v2.steps import PAYMENT, post

REPO = Path(__file__).resolve().parents[3]
FUNDED = Account.create().address


def test_missing_anvil_binary_says_how_to_install_it(tmp_path: Path) -> None:
    node = Anvil(AnvilConfig(port=free_port()), node_modules=tmp_path / "node_modules")
    with pytest.raises(DevnetError, match="anvil is not installed") as e:
        node.start()
    assert "npm ci" in e.value.hint and "make setup" in e.value.hint


def test_a_port_in_use_is_a_clear_cli_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["devnet", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"error: port {port} on 127.0.0.1 is already in use" in err
    assert f"--port {port + 1}" in err


def test_a_corrupt_state_file_is_a_clear_cli_error(capsys: pytest.CaptureFixture[str]) -> None:
    state_file().parent.mkdir(parents=True)
    state_file().write_text("{ not json")
    assert main(["devnet", "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert f"the devnet state file {state_file()} is corrupt" in err
    assert "idlegrid devnet --reset" in err


def test_a_state_file_anvil_rejects_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text(json.dumps({"accounts": 5}))
    node = Anvil(AnvilConfig(port=free_port(), state_file=bad, log_file=tmp_path / "anvil.log"))
    with pytest.raises(DevnetError, match=f"anvil cannot load the devnet state file {bad}"):
        node.start()
    assert not node.running()


def test_a_bad_fund_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devnet", "--fund", "0x1234"]) == 1
    assert "--fund '0x1234' is not an Ethereum address" in capsys.readouterr().err


def start_cli(port: int, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`idlegrid devnet` in a subprocess (its own process group, so that :func:`kill_cli` ends
    its anvil and blob server too), once it printed that it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "devnet", "--port", str(port),
         "--no-demo", "--blob-port", str(free_port()), *extra],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "ready at" in line:
            return proc, lines
    kill_cli(proc)
    pytest.fail("devnet did not become ready:\n" + "\n".join(lines))


def kill_cli(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the devnet and everything it started (a test that failed half-way leaves nothing)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def stop_cli(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C, as a user stops it (it saves anvil's state); killed when it does not stop in time."""
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        kill_cli(proc)
        raise
    assert proc.returncode == 0, out
    return out


@pytest.mark.slow
def test_devnet_deploys_once_funds_and_keeps_its_state_across_restarts() -> None:
    port = free_port()
    proc, lines = start_cli(port, "--fund", FUNDED)
    try:
        text = "\n".join(lines)
        assert "TaskMarket deployed at" in text and f"funded {FUNDED} (100 ETH)" in text
        deployment = json.loads(deployment_file().read_text())
        assert deployment["chain_id"] == 31337 and deployment["rpc_url"] == f"http://127.0.0.1:{port}"
        w3 = connect(f"http://127.0.0.1:{port}")
        Sender(w3, Account.from_key(DEV_KEYS[5])).send({"to": FUNDED, "value": 10**18}, function="transfer")
        requester = TaskMarketV2(w3, deployment["market_address"], Account.from_key(DEV_KEYS[1]))
        task_id = post(requester)
        head = w3.eth.block_number
    except BaseException:
        kill_cli(proc)
        raise
    assert "state saved" in stop_cli(proc)
    assert state_file().is_file()

    proc, lines = start_cli(port)
    try:
        assert f"TaskMarket already deployed at {deployment['market_address']}" in "\n".join(lines)
        w3 = connect(f"http://127.0.0.1:{port}")
        assert w3.eth.get_balance(FUNDED) == 101 * 10**18
        assert w3.eth.block_number >= head
        assert TaskMarketV2(w3, deployment["market_address"]).get_task(task_id).reward == PAYMENT
    finally:
        stop_cli(proc)


def test_the_wallet_address_from_the_settings_is_funded() -> None:
    from engine.chain.devnet import start_devnet
    from engine.config import paths

    wallet = Account.create().address
    paths().ensure().settings_file.write_text(f'[wallet]\naddress = "{wallet}"\n')
    devnet = start_devnet(port=free_port())
    try:
        assert devnet.funded == {wallet: 100 * 10**18}
        assert devnet.w3.eth.get_balance(wallet) == 100 * 10**18
    finally:
        devnet.stop()


def test_a_changed_contract_is_deployed_afresh() -> None:
    from engine.chain.devnet import start_devnet

    devnet = start_devnet(port=free_port())
    first = devnet.deployment
    devnet.stop()
    stale = json.loads(deployment_file().read_text()) | {"source_sha256": "an older contract"}
    deployment_file().write_text(json.dumps(stale))
    devnet = start_devnet(port=free_port())
    try:
        assert devnet.deployed_now and devnet.deployment.market_address != first.market_address
    finally:
        devnet.stop()
