"""The app on a TaskMarket v2 network (real anvil, v2 deployed, real blob server, real Qt widgets):
the network check accepts v2 and says which version it found, where it used to refuse v2's code
as "not a TaskMarket"; the wallet window reads the wallet's credits through v2's client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_account import Account
from pytestqt.qtbot import QtBot
from web3 import Web3

from app.settings import check_network
from app.wallet_window import WalletWindow, read_balance
from engine.chain.anvil import Anvil, rpc
from engine.chain.devnet import Deployment
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.settings import NetworkSettings, save_network
from engine.chain.version import MarketVersion
from engine.storage import BlobServer
from tests.gui.keystores import CHEAP_SCRYPT_N
from tests.gui.test_wallet_window import ScriptedPrompts

if TYPE_CHECKING:
    from tests.gui.settings_fixtures import KeystoreWallet

pytest_plugins = ["tests.gui.settings_fixtures"]

PAYMENT = 3 * 10**17


def v2_network(anvil_node: Anvil, deployment_v2: Deployment, blob_server: BlobServer) -> NetworkSettings:
    return NetworkSettings(rpc_url=anvil_node.url, market_address=deployment_v2.market_address,
                           blob_url=blob_server.url)


def test_a_v2_market_passes_the_check_and_the_report_names_v2(
        chain: Web3, anvil_node: Anvil, deployment_v2: Deployment, blob_server: BlobServer) -> None:
    report = check_network(v2_network(anvil_node, deployment_v2, blob_server))
    assert report.version is MarketVersion.V2
    assert report.task_count == TaskMarketV2(chain, deployment_v2.market_address).task_count()
    assert "TaskMarket v2" in report.summary() and "chain id 31337" in report.summary()


def test_a_v1_market_is_reported_as_v1(custom_network: NetworkSettings) -> None:
    report = check_network(custom_network)
    assert report.version is MarketVersion.V1 and "TaskMarket v1" in report.summary()


def test_the_wallet_shows_its_credits_on_a_v2_market(
        qtbot: QtBot, chain: Web3, anvil_node: Anvil, deployment_v2: Deployment, blob_server: BlobServer,
        keystore_wallet: KeystoreWallet) -> None:
    """The wallet posts a task on v2 and cancels it: its whole payment waits to be withdrawn."""
    save_network(v2_network(anvil_node, deployment_v2, blob_server))
    rpc(chain, "anvil_setBalance", keystore_wallet.address, hex(2 * 10**18))
    account = Account.from_key(Account.decrypt(keystore_wallet.path.read_text(), keystore_wallet.passphrase))
    market = TaskMarketV2(chain, deployment_v2.market_address, account)
    receipt = market.post_task(b"\x01" * 32, "blob:" + "01" * 32, payment=PAYMENT, worker_stake=10**16,
                               claim_timeout=3600, train_timeout=3600, challenge_window=600).send()
    (task_id,) = [e.task_id for e in market.events_in(receipt) if type(e).__name__ == "TaskPosted"]
    market.cancel_task(task_id).send()
    assert read_balance(keystore_wallet.address).credits == PAYMENT

    window = WalletWindow(balance=read_balance, prompts=ScriptedPrompts(), scrypt_n=CHEAP_SCRYPT_N)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "withdrawn" in window.balance_label.text(), timeout=15_000)
    assert window.balance_label.text().endswith("; 0.3 ETH waiting to be withdrawn")
