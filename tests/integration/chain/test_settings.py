"""The [network] settings section, and finding the devnet's market when none is configured."""

from __future__ import annotations

import pytest

from engine.chain.devnet import Deployment, deployment_file, network_settings
from engine.chain.settings import NetworkSettings, load_network, save_network
from engine.config import paths
from engine.errors import ConfigError

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_defaults_point_at_a_local_node_without_a_market() -> None:
    network = load_network()
    assert (network.rpc_url, network.market_address, network.confirmations) == ("http://127.0.0.1:8545", None, 2)


def test_saved_settings_load_back_checksummed() -> None:
    save_network(NetworkSettings(rpc_url="https://rpc.example", market_address=MARKET.lower(), chain_id=5))
    assert load_network().market_address == MARKET


@pytest.mark.parametrize(
    ("toml", "where"),
    [
        ('[network]\nrpc_urll = "http://x"\n', "network.rpc_urll"),
        ('[network]\nmarket_address = "0x12"\n', "network.market_address"),
        ('[network]\nrpc_url = "ws://x"\n', "network.rpc_url"),
        ("[network]\nconfirmations = -1\n", "network.confirmations"),
    ],
)
def test_a_bad_key_names_the_section_and_key(toml: str, where: str) -> None:
    paths().ensure().settings_file.write_text(toml)
    with pytest.raises(ConfigError, match=f"\\[{where}\\]"):
        load_network()


def test_without_a_configured_market_the_devnet_deployment_is_used() -> None:
    Deployment(31337, "http://127.0.0.1:9545", MARKET, 1, MARKET).save(deployment_file())
    network = network_settings()
    assert (network.rpc_url, network.market_address, network.chain_id, network.confirmations) == (
        "http://127.0.0.1:9545", MARKET, 31337, 0)


def test_a_configured_market_wins_over_the_devnet() -> None:
    Deployment(31337, "http://127.0.0.1:9545", MARKET, 1, MARKET).save(deployment_file())
    other = "0x" + "11" * 20
    save_network(NetworkSettings(rpc_url="https://rpc.example", market_address=other))
    assert network_settings().rpc_url == "https://rpc.example"
