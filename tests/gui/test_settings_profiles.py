"""The settings' network page offers the network profiles (docs/network.md): picking one and
saving does what ``idlegrid network use NAME`` does, and leaves the profile's file untouched;
saving anything else keeps the profile in use. Real widgets, a real anvil + TaskMarket and blob
server, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys

from pytestqt.qtbot import QtBot

from app.autostart import FileAutostart
from app.settings import SettingsDialog
from engine.chain.settings import SECTION, NetworkSettings, load_network, save_network
from engine.config import load_section
from engine.network.profiles import DEVNET, Profile, ProfileError, profile_path, save_profile, use_profile
from tests.conftest import REPO

pytest_plugins = ["tests.gui.settings_fixtures"]

GWEI = 10**9


def _profile(network: NetworkSettings, name: str = "testnet") -> Profile:
    """A profile of the test chain with every field away from its default."""
    assert network.market_address is not None
    profile = Profile(name=name, chain_id=31337, market_address=network.market_address, deploy_block=1,
                      rpc_urls=[network.rpc_url, "http://127.0.0.1:9/spare"], blob_url=network.blob_url,
                      params={"jurySize": 3}, confirmations=3, max_fee_per_gas=30 * GWEI, log_range=500)
    save_profile(profile)
    return profile


def _dialog(qtbot: QtBot, entry: FileAutostart) -> SettingsDialog:
    dialog = SettingsDialog(autostart=entry)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _network_list() -> str:
    done = subprocess.run([sys.executable, "-m", "engine", "network", "list"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_choosing_a_profile_and_saving_puts_it_in_use_with_its_fields_unchanged(
        qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings) -> None:
    profile = _profile(custom_network)
    file_before = profile_path(profile.name).read_bytes()
    dialog = _dialog(qtbot, autostart_entry)
    form = dialog.network_form
    assert form.uses_devnet() and [form.profiles.itemText(i) for i in range(form.profiles.count())] == ["testnet"]
    form.profile.setChecked(True)
    assert "chain id 31337" in form.profile_details.text() and "http://127.0.0.1:9/spare" in form.profile_details.text()
    with qtbot.waitSignal(dialog.saved, timeout=20_000) as saved:
        dialog.save()
    assert saved.args[0].network_changed
    assert load_section(SECTION, NetworkSettings) == NetworkSettings(profile="testnet")  # as `network use` writes
    assert load_network() == profile.settings()
    assert profile_path(profile.name).read_bytes() == file_before
    listed = _network_list()
    assert f"* testnet          chain 31337     market {profile.market_address}  {custom_network.rpc_url}" in listed


def test_saving_other_settings_keeps_the_profile_in_use(
        qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings) -> None:
    profile = _profile(custom_network)
    use_profile(profile.name)
    dialog = _dialog(qtbot, autostart_entry)
    form = dialog.network_form
    assert form.profile.isChecked() and form.profiles.currentText() == "testnet"
    dialog.policy_form.temperature_ceiling_c.setValue(70)
    with qtbot.waitSignal(dialog.saved, timeout=20_000) as saved:
        dialog.save()
    assert not saved.args[0].network_changed
    assert load_section(SECTION, NetworkSettings) == NetworkSettings(profile="testnet")
    assert load_network() == profile.settings()


def test_test_connection_checks_the_chosen_profiles_node_and_market(
        qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings) -> None:
    _profile(custom_network)
    dialog = _dialog(qtbot, autostart_entry)
    dialog.network_form.profile.setChecked(True)
    dialog.network_form.test_button.click()
    qtbot.waitUntil(lambda: dialog.network_form.result.text().startswith("✓"), timeout=20_000)
    assert "chain id 31337" in dialog.network_form.result.text()
    assert load_section(SECTION, NetworkSettings) == NetworkSettings()  # testing saves nothing


def test_a_broken_profile_is_refused_with_its_file_named_and_nothing_is_saved(
        qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings) -> None:
    _profile(custom_network)
    profile_path("broken").write_text('{"name": "broken"}', encoding="utf-8")
    dialog = _dialog(qtbot, autostart_entry)
    form = dialog.network_form
    form.profile.setChecked(True)
    form.profiles.setCurrentIndex(form.profiles.findData("broken"))
    assert "broken.json" in form.profile_details.text()
    dialog.save()
    assert isinstance(dialog.last_error, ProfileError)
    assert "broken.json" in dialog.error_label.text() and dialog.isVisible()
    assert load_section(SECTION, NetworkSettings) == NetworkSettings()


def test_the_devnet_chosen_with_network_use_stays_the_devnet_profile(
        qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    save_network(NetworkSettings(profile=DEVNET))
    dialog = _dialog(qtbot, autostart_entry)
    assert dialog.network_form.uses_devnet()
    with qtbot.waitSignal(dialog.saved, timeout=20_000) as saved:
        dialog.save()
    assert not saved.args[0].network_changed
    assert load_section(SECTION, NetworkSettings) == NetworkSettings(profile=DEVNET)


def test_a_custom_network_keeps_the_fields_the_form_does_not_show(
        qtbot: QtBot, autostart_entry: FileAutostart, custom_network: NetworkSettings) -> None:
    written = custom_network.model_copy(update={"chain_id": 31337, "rpc_fallbacks": ["http://127.0.0.1:9/spare"],
                                                "max_fee_per_gas": 30 * GWEI, "deploy_block": 1, "log_range": 500})
    save_network(written)
    dialog = _dialog(qtbot, autostart_entry)
    assert dialog.network_form.custom.isChecked()
    assert dialog.network_form.network() == written
    with qtbot.waitSignal(dialog.saved, timeout=20_000):
        dialog.save()
    assert load_section(SECTION, NetworkSettings) == written
