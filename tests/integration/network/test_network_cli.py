"""``idlegrid network deploy/add/list/use`` on a real anvil, and the profile at work: the
settings name it, every command opens its market, and a market with other code is refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.chain.anvil import Anvil
from engine.chain.errors import ChainError
from engine.chain.market import open_market
from engine.chain.market_v2 import DEVNET_PARAMS_V2
from engine.chain.settings import load_network
from engine.network.profiles import ProfileError, load_profile, profile_path


def idlegrid(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], check=False, capture_output=True, text=True,
                          timeout=120,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)


def deploy(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return idlegrid("network", "deploy", "--rpc", url, "--name", "local", "--dev-account", "0", *extra)


def test_deploy_writes_a_profile_that_the_settings_then_use(anvil_node: Anvil, chain) -> None:
    done = deploy(anvil_node.url, "--yes", "--use", "--param", "jurySize=5", "--max-fee-gwei", "50",
                  "--confirmations", "3")
    assert done.returncode == 0, done.stderr
    address, block = re.search(r"deployed TaskMarket at (0x[0-9a-fA-F]{40}) in block (\d+)", done.stdout).groups()
    profile = load_profile("local")
    assert (profile.market_address, profile.deploy_block, profile.chain_id) == (address, int(block), 31337)
    assert profile.params == {**DEVNET_PARAMS_V2, "jurySize": 5}     # v2 unless --market v1
    assert profile.max_fee_per_gas == 50 * 10**9 and profile.code_hash.startswith("0x")
    network = load_network()
    assert network.profile == "local" and network.market_address == address and network.deploy_block == int(block)
    market = open_market(network)
    assert market.params().jury_size == 5 and market.deploy_block == int(block)
    assert market.poller().confirmations == 3 and market.sender is None
    listed = idlegrid("network", "list")
    assert re.search(r"^\* local +chain 31337 +market " + address, listed.stdout, re.MULTILINE), listed.stdout


def test_a_market_whose_code_differs_from_the_profile_is_refused(anvil_node: Anvil, chain) -> None:
    assert deploy(anvil_node.url, "--yes", "--use").returncode == 0
    path = profile_path("local")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "code_hash": "0x" + "00" * 32}))
    with pytest.raises(ChainError, match="is not the TaskMarket this network profile names"):
        open_market(load_network())


def test_deploy_without_a_terminal_asks_for_yes_and_deploys_nothing(anvil_node: Anvil, chain) -> None:
    before = chain.eth.get_transaction_count(chain.eth.accounts[0])
    done = deploy(anvil_node.url)
    assert done.returncode != 0 and "pass --yes" in done.stderr and "Traceback" not in done.stderr
    assert chain.eth.get_transaction_count(chain.eth.accounts[0]) == before


def test_dev_keys_are_refused_off_a_local_anvil(tmp_path: Path) -> None:
    with _anvil(tmp_path, chain_id=11155111) as node:
        done = deploy(node.url, "--yes")
    assert done.returncode != 0 and "only on a local anvil" in done.stderr


def test_adding_an_address_without_code_is_one_clear_error(anvil_node: Anvil, chain) -> None:
    done = idlegrid("network", "add", "--name", "other", "--rpc", anvil_node.url,
                    "--market", "0x" + "11" * 20, "--deploy-block", "0")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "0x1111111111111111111111111111111111111111" in done.stderr
    assert not profile_path("other").exists()


def test_deploy_names_a_price_feed_and_refuses_one_half_given_or_in_clear_text_from_afar(
        anvil_node: Anvil, chain) -> None:
    """The profile's price_feed (the app's fiat view) set from the command line; it was only
    writable by editing the profile's JSON."""
    before = chain.eth.get_transaction_count(chain.eth.accounts[0])
    far = deploy(anvil_node.url, "--yes", "--price-feed", "http://prices.example.org/eth", "--price-path",
                 "ethereum.usd", "--price-currency", "USD")
    assert far.returncode != 0 and "price_feed.url" in far.stderr and "Traceback" not in far.stderr
    half = deploy(anvil_node.url, "--yes", "--price-feed", "https://prices.example.org/eth")
    assert half.returncode != 0 and "--price-path, --price-currency too" in half.stderr
    assert not profile_path("local").exists()  # refused before anything was deployed or written
    assert chain.eth.get_transaction_count(chain.eth.accounts[0]) == before
    done = deploy(anvil_node.url, "--yes", "--price-feed", "https://api.coinbase.com/v2/prices/ETH-USD/spot",
                  "--price-path", "data.amount", "--price-currency", "usd")
    assert done.returncode == 0, done.stderr
    feed = load_profile("local").price_feed
    assert feed is not None and (feed.url, feed.path, feed.currency) == (
        "https://api.coinbase.com/v2/prices/ETH-USD/spot", "data.amount", "USD")


def test_using_a_profile_that_does_not_exist_names_it(tmp_path: Path) -> None:
    done = idlegrid("network", "use", "mainnet")
    assert done.returncode != 0 and "no network profile named 'mainnet'" in done.stderr
    with pytest.raises(ProfileError, match="idlegrid network list"):
        load_profile("mainnet")


def test_a_bad_profile_name_is_refused(anvil_node: Anvil) -> None:
    done = deploy(anvil_node.url, "--yes", "--name", "Bad Name")
    assert done.returncode != 0 and "is not a profile name" in done.stderr


def _anvil(tmp_path: Path, chain_id: int) -> Anvil:
    from engine.chain.anvil import AnvilConfig, free_port

    return Anvil(AnvilConfig(port=free_port(), chain_id=chain_id, log_file=tmp_path / "anvil.log"))
