"""``idlegrid network add`` on a TaskMarket v2 deployment (real anvil, the CLI as a subprocess):
it reads v2's parameters through v2's client, prints them with the version, and writes a profile
that opens as v2. It used to read them with v1's ABI, which v2's contract does not answer."""

from __future__ import annotations

from engine.chain.anvil import Anvil
from engine.chain.devnet import Deployment
from engine.chain.market import open_market
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2
from engine.chain.settings import load_network
from engine.network.profiles import load_profile
from tests.integration.network.test_network_cli import idlegrid


def add(url: str, deployment: Deployment, name: str) -> tuple[int, str, str]:
    done = idlegrid("network", "add", "--name", name, "--rpc", url, "--market", deployment.market_address,
                    "--deploy-block", str(deployment.deploy_block), "--use")
    return done.returncode, done.stdout, done.stderr


def test_adding_a_v2_market_records_and_prints_v2s_parameters(anvil_node: Anvil, chain,
                                                              deployment_v2: Deployment) -> None:
    rc, out, err = add(anvil_node.url, deployment_v2, "two")
    assert rc == 0, err
    params = vars(TaskMarketV2(chain, deployment_v2.market_address).params())
    assert load_profile("two").params == params
    assert f"TaskMarket v2 at {deployment_v2.market_address}: " in out
    assert f"audit_fee_bps {DEVNET_PARAMS_V2['auditFeeBps']}" in out and "auditors_per_task" in out
    market = open_market(load_network())             # the profile's code hash matches v2's code
    assert isinstance(market, TaskMarketV2) and market.deploy_block == deployment_v2.deploy_block


def test_adding_a_v1_market_still_prints_v1s_parameters(anvil_node: Anvil, chain, deployment: Deployment) -> None:
    rc, out, err = add(anvil_node.url, deployment, "one")
    assert rc == 0, err
    assert f"TaskMarket v1 at {deployment.market_address}: " in out and "jury_size" in out
    assert "audit_fee_bps" not in out
