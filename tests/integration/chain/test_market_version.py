"""The bindings follow the code on chain: open_market gives TaskMarketV2 for a v2 deployment and
TaskMarket for v1 (or any other code, as before v2), the unported roles refuse v2 clearly, and
`idlegrid devnet --market v2` deploys v2."""

from __future__ import annotations

import json

import pytest

from engine.chain.anvil import free_port
from engine.chain.artifact import Artifact
from engine.chain.devnet import deploy_market_v2, deployment_file, network_settings, start_devnet
from engine.chain.market import TaskMarket, open_market
from engine.chain.market_v2 import TaskMarketV2, load_artifact_v2
from engine.chain.settings import NetworkSettings
from engine.chain.version import MarketVersion, market_version, runtime_layout
from engine.network.deploy import deploy_market
from tests.integration.chain.test_devnet import start_cli, stop_cli


def test_open_market_picks_the_bindings_by_the_code_on_chain(anvil_node, chain, accounts, deployment) -> None:
    v2 = deploy_market_v2(chain, accounts[0], rpc_url=anvil_node.url)
    v1 = open_market(NetworkSettings(rpc_url=anvil_node.url, market_address=deployment.market_address))
    assert type(v1) is TaskMarket
    opened = open_market(NetworkSettings(rpc_url=anvil_node.url, market_address=v2.market_address))
    assert isinstance(opened, TaskMarketV2)
    assert opened.params().audit_fee_bps == 1000  # a v2 read, answered by the v2 contract
    assert market_version(chain, deployment.market_address) is MarketVersion.V1
    assert market_version(chain, v2.market_address) is MarketVersion.V2


def test_other_parameters_are_still_v2_and_other_code_is_neither(anvil_node, chain, accounts) -> None:
    """The immutables a deployment appends do not hide the version; a contract whose runtime differs
    (here v2's init code with one runtime byte changed) is no shipped market."""
    v2 = deploy_market_v2(chain, accounts[0], rpc_url=anvil_node.url, constructor={"auditFeeBps": 500})
    assert market_version(chain, v2.market_address) is MarketVersion.V2
    artifact = load_artifact_v2()
    layout = runtime_layout(artifact)
    code = artifact.bytecode.removeprefix("0x")
    at = code.index(layout.runtime.hex()) + 2 * (len(layout.runtime) - 1)  # the runtime's last byte
    altered = code[:at] + format(int(code[at:at + 2], 16) ^ 0x01, "02x") + code[at + 2:]
    other = deploy_market(chain, accounts[0], version=MarketVersion.V2,
                          artifact=Artifact(artifact.abi, "0x" + altered, artifact.compiler, "altered"))
    assert market_version(chain, other.market_address) is None
    assert type(open_market(NetworkSettings(rpc_url=anvil_node.url, market_address=other.market_address))) \
        is TaskMarket


def test_the_devnet_deploys_the_chosen_version_and_redeploys_on_a_switch() -> None:
    devnet = start_devnet(port=free_port(), market=MarketVersion.V1)
    try:
        assert devnet.deployed_now
        assert type(open_market(network_settings(devnet=True))) is TaskMarket
    finally:
        devnet.stop()
    devnet = start_devnet(port=free_port())  # the default, v2: a fresh deployment
    try:
        assert devnet.deployed_now
        assert isinstance(open_market(network_settings(devnet=True)), TaskMarketV2)
    finally:
        devnet.stop()
    first = devnet.deployment.market_address
    devnet = start_devnet(port=free_port(), market=MarketVersion.V2)
    try:
        assert not devnet.deployed_now and devnet.deployment.market_address == first
    finally:
        devnet.stop()


@pytest.mark.slow
def test_idlegrid_devnet_market_v2_starts_a_v2_market() -> None:
    proc, lines = start_cli(free_port(), "--market", "v2")
    try:
        assert any("TaskMarket deployed at" in line and "TaskMarket v2)" in line for line in lines), lines
        address = json.loads(deployment_file().read_text())["market_address"]
        assert isinstance(open_market(network_settings(devnet=True)), TaskMarketV2)
        assert open_market(network_settings(devnet=True)).address == address
    finally:
        stop_cli(proc)
