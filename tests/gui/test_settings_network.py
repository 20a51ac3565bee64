"""Network settings are checked against real parts before they are saved: anvil + TaskMarket,
a blob server; each broken part gives its own error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from web3 import Web3

from app.autostart import FileAutostart
from app.settings import SettingsDialog, check_network
from app.settings.errors import NotATaskMarket, SettingsInputError
from engine.chain.anvil import free_port, rpc
from engine.chain.errors import NotDeployed, RpcUnreachable, WrongChain
from engine.chain.settings import NetworkSettings, load_network
from engine.storage.errors import StorageError

pytest_plugins = ["tests.gui.settings_fixtures"]

NOBODY = "0x000000000000000000000000000000000000dEaD"


def test_a_working_network_passes_every_check(custom_network: NetworkSettings) -> None:
    report = check_network(custom_network)
    assert report.chain_id == 31337
    assert report.task_count >= 0
    assert report.blob_health
    assert "chain id 31337" in report.summary()


def test_a_node_that_does_not_answer_is_unreachable(custom_network: NetworkSettings) -> None:
    dead = custom_network.model_copy(update={"rpc_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(RpcUnreachable, match="unreachable"):
        check_network(dead, timeout=1.0)


def test_a_node_of_another_chain_is_refused(custom_network: NetworkSettings) -> None:
    with pytest.raises(WrongChain, match="serves chain id 31337, not the configured 1"):
        check_network(custom_network.model_copy(update={"chain_id": 1}))


def test_an_address_without_code_is_not_deployed(custom_network: NetworkSettings) -> None:
    with pytest.raises(NotDeployed, match="no TaskMarket contract at"):
        check_network(custom_network.model_copy(update={"market_address": NOBODY}))


def test_another_contract_is_not_a_taskmarket(chain: Web3, custom_network: NetworkSettings) -> None:
    rpc(chain, "anvil_setCode", NOBODY, "0x600160005260206000f3")  # returns 1 for any call: no TaskMarket
    with pytest.raises(NotATaskMarket, match="is not a TaskMarket") as err:
        check_network(custom_network.model_copy(update={"market_address": NOBODY}))
    assert "market address" in (err.value.hint or "")


def test_a_blob_server_that_is_down_is_refused(custom_network: NetworkSettings) -> None:
    down = custom_network.model_copy(update={"blob_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(StorageError, match="unavailable"):
        check_network(down, timeout=1.0)


def test_missing_market_or_blob_url_names_the_field(custom_network: NetworkSettings) -> None:
    with pytest.raises(SettingsInputError, match="Market address: is empty"):
        check_network(custom_network.model_copy(update={"market_address": None}))
    with pytest.raises(SettingsInputError, match="Blob server URL: is empty"):
        check_network(custom_network.model_copy(update={"blob_url": None}))


def _dialog(qtbot: QtBot, autostart_entry: FileAutostart) -> SettingsDialog:
    dialog = SettingsDialog(autostart=autostart_entry)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _fill(dialog: SettingsDialog, network: NetworkSettings) -> None:
    form = dialog.network_form
    form.custom.setChecked(True)
    form.rpc_url.setText(network.rpc_url)
    form.market_address.setText(network.market_address or "")
    form.blob_url.setText(network.blob_url or "")


def test_saving_a_network_checks_it_then_pins_its_chain_id(
    qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings
) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    assert dialog.network_form.uses_devnet()
    _fill(dialog, custom_network)
    with qtbot.waitSignal(dialog.saved, timeout=20_000) as saved:
        dialog.save()
    assert saved.args[0].network_changed
    assert load_network() == custom_network.model_copy(update={"chain_id": 31337})
    assert not dialog.isVisible()


def test_a_wrong_market_address_is_shown_and_nothing_is_saved(
    qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings
) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    _fill(dialog, custom_network.model_copy(update={"market_address": NOBODY}))
    dialog.save()
    qtbot.waitUntil(lambda: dialog.last_error is not None, timeout=20_000)
    assert isinstance(dialog.last_error, NotDeployed)
    assert "no TaskMarket contract at" in dialog.error_label.text()
    assert dialog.tabs.currentWidget().widget() is dialog.network_form
    assert dialog.isVisible()
    assert load_network().market_address is None


def test_a_malformed_address_is_refused_before_any_connection(qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    _fill(dialog, NetworkSettings(rpc_url="http://127.0.0.1:1"))
    dialog.network_form.market_address.setText("0x1234")
    dialog.save()
    assert isinstance(dialog.last_error, SettingsInputError)
    assert "Network: Market address: '0x1234' is not an Ethereum address" in dialog.error_label.text()
    dialog.network_form.market_address.setText(NOBODY)
    dialog.network_form.rpc_url.setText("ftp://node")
    dialog.save()
    assert "RPC URL" in dialog.last_error.message


def test_test_connection_reports_the_chain_beside_the_button(
    qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings
) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    _fill(dialog, custom_network)
    dialog.network_form.test_button.click()
    qtbot.waitUntil(lambda: dialog.network_form.result.text().startswith("✓"), timeout=20_000)
    assert "chain id 31337" in dialog.network_form.result.text()
    assert dialog.network_form.chain_id.text() == "31337"
    assert load_network().market_address is None  # testing saves nothing


def test_going_back_to_the_devnet_clears_the_market(
    qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings, idlegrid_home: Path
) -> None:
    from engine.chain.settings import save_network

    save_network(custom_network.model_copy(update={"chain_id": 31337}))
    dialog = _dialog(qtbot, autostart_entry)
    assert dialog.network_form.custom.isChecked()
    assert dialog.network_form.market_address.text() == custom_network.market_address
    dialog.network_form.devnet.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=5_000):
        dialog.save()
    assert load_network().market_address is None


def test_cancel_during_the_check_saves_nothing(
    qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings
) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    _fill(dialog, custom_network)
    saved: list[object] = []
    dialog.saved.connect(saved.append)
    dialog.save()
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.network_form.check.running, timeout=20_000)
    qtbot.wait(200)
    assert saved == [] and load_network().market_address is None
