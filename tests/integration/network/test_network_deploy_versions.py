"""``idlegrid network deploy`` picks the TaskMarket version as ``idlegrid devnet`` does: v2 unless
``--market v1`` (real anvil, the CLI as a subprocess). It used to deploy v1 whatever the devnet
ran, show v1's cost, and drop a ``--param`` v1 does not take without a word.

The profile it writes opens as the version deployed (``market_at`` reads the code on chain), the
cost it shows is that version's deployment, and a version or a parameter the command cannot
deploy is one error before anything is sent.
"""

from __future__ import annotations

import re

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from engine.chain.anvil import Anvil
from engine.chain.artifact import load_artifact
from engine.chain.market import DEVNET_PARAMS, TaskMarket, open_market
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, load_artifact_v2
from engine.chain.settings import load_network
from engine.chain.version import MarketVersion, market_version
from engine.commands.options import MARKET_VERSIONS
from engine.network.client import market_at
from engine.network.deploy import deploy_cost, parameter_names
from engine.network.profiles import load_profile, profile_path
from tests.integration.network.test_network_cli import deploy

DEPLOYED = re.compile(r"deployed TaskMarket at (0x[0-9a-fA-F]{40}) in block (\d+) \((v[12])\)")
COST = re.compile(r"deploy TaskMarket (v[12]) on chain \d+ .*\n.*\n  about ([\d,]+) gas", re.MULTILINE)


def deployed(out: str) -> tuple[str, int, str]:
    found = DEPLOYED.search(out)
    assert found, out
    return found.group(1), int(found.group(2)), found.group(3)


def shown_cost(out: str) -> tuple[str, int]:
    found = COST.search(out)
    assert found, out
    return found.group(1), int(found.group(2).replace(",", ""))


def test_the_default_deploy_is_v2_and_its_profile_opens_as_v2(anvil_node: Anvil, chain: Web3) -> None:
    done = deploy(anvil_node.url, "--yes", "--use", "--param", "auditFeeBps=500")
    assert done.returncode == 0, done.stderr
    address, block, version = deployed(done.stdout)
    assert version == "v2" and market_version(chain, address) is MarketVersion.V2
    market = market_at(chain, address)
    assert isinstance(market, TaskMarketV2)
    assert market.min_stake_now() == DEVNET_PARAMS_V2["minVerifierStake"]    # a read only v2 answers
    assert market.params().audit_fee_bps == 500
    profile = load_profile("local")
    assert profile.params == {**DEVNET_PARAMS_V2, "auditFeeBps": 500} and profile.deploy_block == block
    opened = open_market(load_network())              # the profile's code hash is v2's deployed code
    assert isinstance(opened, TaskMarketV2) and (opened.address, opened.deploy_block) == (address, block)


def test_market_v1_deploys_v1(anvil_node: Anvil, chain: Web3) -> None:
    done = deploy(anvil_node.url, "--yes", "--use", "--market", "v1", "--param", "jurySize=5")
    assert done.returncode == 0, done.stderr
    address, _, version = deployed(done.stdout)
    assert version == "v1" and market_version(chain, address) is MarketVersion.V1
    market = market_at(chain, address)
    assert type(market) is TaskMarket and market.params().jury_size == 5
    assert load_profile("local").params == {**DEVNET_PARAMS, "jurySize": 5}
    assert type(open_market(load_network())) is TaskMarket


@pytest.mark.parametrize("version", list(MarketVersion))
def test_the_cost_shown_is_the_deployed_versions(anvil_node: Anvil, chain: Web3, accounts: list[LocalAccount],
                                                 version: MarketVersion) -> None:
    """The estimate printed before the question is the library's for that version, differs from the
    other version's, and covers the gas the deployment then used (v1's estimate does not cover v2's)."""
    done = deploy(anvil_node.url, "--yes", "--market", version.value)
    assert done.returncode == 0, done.stderr
    title, gas = shown_cost(done.stdout)
    assert title == version.value
    other = next(v for v in MarketVersion if v is not version)
    assert gas == deploy_cost(chain, accounts[0], version=version)[0]
    assert gas != deploy_cost(chain, accounts[0], version=other)[0]
    address, block, _ = deployed(done.stdout)
    receipts = [chain.eth.get_transaction_receipt(tx) for tx in chain.eth.get_block(block)["transactions"]]
    used = next(int(r["gasUsed"]) for r in receipts if r["contractAddress"] == address)
    assert used <= gas


def test_v2_costs_more_gas_to_deploy_than_v1(chain: Web3, accounts: list[LocalAccount]) -> None:
    """What makes showing the wrong version's cost matter: v2's deployment is the bigger one."""
    assert deploy_cost(chain, accounts[0], version=MarketVersion.V2)[0] > \
        deploy_cost(chain, accounts[0], version=MarketVersion.V1)[0]


def test_the_cost_is_shown_before_the_question_for_the_chosen_version(anvil_node: Anvil, chain: Web3,
                                                                      accounts: list[LocalAccount]) -> None:
    before = chain.eth.get_transaction_count(accounts[0].address)
    for version in MarketVersion:
        done = deploy(anvil_node.url, "--market", version.value)         # no terminal, no --yes: nothing sent
        assert done.returncode != 0 and "pass --yes" in done.stderr
        assert shown_cost(done.stdout) == (version.value, deploy_cost(chain, accounts[0], version=version)[0])
    assert chain.eth.get_transaction_count(accounts[0].address) == before


@pytest.mark.parametrize(("extra", "message"), [
    (("--market", "v3"), "argument --market: invalid choice: 'v3' (choose from 'v2', 'v1')"),
    (("--market", "v1", "--param", "auditFeeBps=500"),
     "TaskMarket v1 takes no constructor parameter auditFeeBps (only v2 has it)"),
    (("--market", "v1", "--param", "jurySize=5", "--param", "maxDraws=2", "--param", "epochLength=60"),
     "TaskMarket v1 takes no constructor parameters maxDraws (only v2 has it), epochLength (only v2 has it)"),
    (("--param", "jurysize=5"), "TaskMarket v2 takes no constructor parameter jurysize"),
])
def test_a_version_or_parameter_it_cannot_deploy_is_one_error_and_nothing_is_sent(
        anvil_node: Anvil, chain: Web3, accounts: list[LocalAccount], extra: tuple[str, ...], message: str) -> None:
    before = chain.eth.get_transaction_count(accounts[0].address)
    done = deploy(anvil_node.url, "--yes", *extra)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("error") == 1
    assert not profile_path("local").exists()
    assert chain.eth.get_transaction_count(accounts[0].address) == before


def test_v2_takes_every_v1_parameter() -> None:
    """Why no case above gives v2 a v1-only parameter: v2's constructor takes all of v1's (the
    check refuses any name the chosen version's constructor lacks, whichever version that is)."""
    assert set(parameter_names(load_artifact())) < set(parameter_names(load_artifact_v2()))


def test_the_option_offers_every_shipped_version_v2_first() -> None:
    """``--market``'s choices are spelled out (the enum's module imports web3, too slow for
    ``--help``): they must stay the enum's values, the default first."""
    assert sorted(MARKET_VERSIONS) == sorted(v.value for v in MarketVersion) and MARKET_VERSIONS[0] == "v2"
