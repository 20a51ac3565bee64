"""The first-run wizard, driven page by page on real parts: the keyring, keystore files, anvil."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import keyring.core
import pytest
from pytestqt.qtbot import QtBot

from app.autostart import FileAutostart
from app.wizard import FirstRunWizard, NetworkPage, PolicyPage, SetupResult, StartPage, WalletPage, needs_first_run
from engine.chain.settings import NetworkSettings, load_network
from engine.config import paths
from engine.gpu.settings import load_policy_settings
from engine.wallet import identity, keystore, store
from engine.wallet.errors import WrongPassphraseError
from engine.wallet.keys import SecretKey
from tests.gui.keystores import CHEAP_SCRYPT_N

if TYPE_CHECKING:
    from tests.gui.settings_fixtures import KeystoreWallet

pytest_plugins = ["tests.gui.settings_fixtures"]

NOBODY = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def wizard(qtbot: QtBot, autostart_entry: FileAutostart) -> FirstRunWizard:
    w = FirstRunWizard(autostart=autostart_entry, scrypt_n=CHEAP_SCRYPT_N)
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()
    yield
    monkeypatch.undo()
    keyring.core.init_backend()


def _to(wizard: FirstRunWizard, page_type: type) -> None:
    """Press Next until ``page_type`` shows (each page validates on the way)."""
    for _ in range(6):
        if isinstance(wizard.currentPage(), page_type):
            return
        before = wizard.currentId()
        wizard.next()
        assert wizard.currentId() != before, wizard.currentPage().error_label.text()
    raise AssertionError(f"never reached {page_type.__name__}")


def test_first_run_is_due_until_a_wallet_exists(keystore_wallet: KeystoreWallet) -> None:
    assert not needs_first_run()
    identity.delete()
    assert needs_first_run()


def test_a_broken_settings_file_means_first_run(idlegrid_home: Path) -> None:
    paths().settings_file.parent.mkdir(parents=True)
    paths().settings_file.write_text("[wallet\n")
    assert needs_first_run()


def test_the_whole_run_creates_a_keyring_wallet_saves_policy_and_starts(
    qtbot: QtBot, wizard: FirstRunWizard, os_keyring: str, autostart_entry: FileAutostart
) -> None:
    _to(wizard, WalletPage)
    page = wizard.wallet_page
    assert page.create_new.isChecked() and not page.keep.isVisible()
    assert "OS keyring" in page.create_new.text()
    _to(wizard, PolicyPage)
    form = wizard.policy_page.form
    form.preset.setCurrentIndex(form.preset.findData("nights"))
    _to(wizard, NetworkPage)
    assert wizard.network_page.form.uses_devnet()
    _to(wizard, StartPage)
    assert "Nights only" in wizard.start_page.summary.text()
    assert "the local devnet" in wizard.start_page.summary.text()
    with qtbot.waitSignal(wizard.completed) as done:
        wizard.accept()
    result: SetupResult = done.args[0]
    assert result.address == identity.current().address and store.load(result.address) is not None
    assert result.policy == "nights" and result.autostart
    assert load_policy_settings().hours.mon == ["23:00-07:00"]
    assert load_network().market_address is None
    assert autostart_entry.is_enabled()
    assert not needs_first_run()


def test_without_a_keyring_the_new_key_goes_to_an_encrypted_file(
    wizard: FirstRunWizard, no_keyring: None, tmp_path: Path
) -> None:
    _to(wizard, WalletPage)
    page = wizard.wallet_page
    assert "encrypted keystore file" in page.create_new.text()
    assert "No secure OS keyring" in page.backend_label.text()
    page.file.setText(str(tmp_path / "key.json"))
    page.passphrase.setText("short")
    page.passphrase_again.setText("short")
    wizard.next()
    assert wizard.currentPage() is page and "shorter than 8" in page.error_label.text()
    page.passphrase.setText("a long passphrase")
    page.passphrase_again.setText("a long passphrase!")
    wizard.next()
    assert wizard.currentPage() is page and "differ" in page.error_label.text()
    page.passphrase_again.setText("a long passphrase")
    _to(wizard, PolicyPage)
    assert identity.current().keystore == (tmp_path / "key.json").resolve()
    assert keystore.decrypt(tmp_path / "key.json", "a long passphrase").address == page.address


def test_importing_with_the_wrong_passphrase_stays_on_the_page(
    wizard: FirstRunWizard, no_keyring: None, tmp_path: Path
) -> None:
    key = SecretKey.generate()
    path = keystore.write(tmp_path / "mine.json", key, "the right one", scrypt_n=CHEAP_SCRYPT_N)
    _to(wizard, WalletPage)
    page = wizard.wallet_page
    page.import_.setChecked(True)
    page.file.setText(str(path))
    page.passphrase.setText("the wrong one")
    wizard.next()
    assert isinstance(page.last_error, WrongPassphraseError)
    assert wizard.currentPage() is page
    page.passphrase.setText("the right one")
    _to(wizard, PolicyPage)
    assert identity.current().address == key.address


def test_an_existing_wallet_is_kept_by_default(wizard: FirstRunWizard, keystore_wallet: KeystoreWallet) -> None:
    _to(wizard, WalletPage)
    assert wizard.wallet_page.keep.isChecked()
    assert keystore_wallet.address in wizard.wallet_page.keep.text()
    _to(wizard, PolicyPage)
    assert identity.current().address == keystore_wallet.address


def test_a_bad_policy_value_stays_on_the_policy_page(wizard: FirstRunWizard, keystore_wallet: KeystoreWallet) -> None:
    _to(wizard, PolicyPage)
    wizard.policy_page.form.days["tue"].setText("all day")
    wizard.next()
    assert wizard.currentPage() is wizard.policy_page
    assert "Allowed hours, Tuesday" in wizard.policy_page.error_label.text()
    assert not paths().settings_file.read_text().count("[policy]")


def test_a_custom_network_is_checked_and_the_wizard_moves_on_by_itself(
    qtbot: QtBot, wizard: FirstRunWizard, keystore_wallet: KeystoreWallet, custom_network: NetworkSettings
) -> None:
    _to(wizard, NetworkPage)
    form = wizard.network_page.form
    form.custom.setChecked(True)
    form.rpc_url.setText(custom_network.rpc_url)
    form.market_address.setText(NOBODY)
    form.blob_url.setText(custom_network.blob_url or "")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.network_page.last_error is not None, timeout=20_000)
    assert "no TaskMarket contract at" in wizard.network_page.error_label.text()
    assert wizard.currentPage() is wizard.network_page
    form.market_address.setText(custom_network.market_address or "")
    wizard.next()
    qtbot.waitUntil(lambda: isinstance(wizard.currentPage(), StartPage), timeout=20_000)
    assert load_network() == custom_network.model_copy(update={"chain_id": 31337})
    assert "(the local test network (devnet))" in wizard.start_page.summary.text()


def test_a_rerun_starts_from_the_saved_policy(wizard: FirstRunWizard, keystore_wallet: KeystoreWallet) -> None:
    from engine.config import save_section
    from engine.gpu.settings import PolicySettings

    save_section("policy", PolicySettings(idle_minutes=42))
    _to(wizard, PolicyPage)
    assert wizard.policy_page.form.idle_minutes.value() == 42
    assert wizard.policy_page.form.preset.currentData() == "custom"


def test_without_an_nvidia_gpu_the_cpu_box_starts_ticked_and_saves_with_the_electricity_price(
        wizard: FirstRunWizard, keystore_wallet: KeystoreWallet) -> None:
    from app.profit import load_earnings_settings
    from engine.gpu.settings import devnet_gpu_settings, load_gpu_settings

    if wizard.policy_page.gpu_found:
        pytest.skip("an NVIDIA GPU is here: the box keeps its default")
    _to(wizard, PolicyPage)
    form = wizard.policy_page.form
    assert form.allow_cpu.isChecked()                            # else nothing would ever run here
    assert form.label_widgets["foreign_utilization_pct"].text() == "Pause when other programs' CPU load is above (%)"
    form.allow_cpu.setChecked(False)                             # the user says no: that holds, devnet too
    wizard.policy_page.earnings_form.electricity_price.setValue(0.25)
    _to(wizard, NetworkPage)
    assert load_gpu_settings().allow_cpu is False and devnet_gpu_settings().allow_cpu is False
    assert load_earnings_settings().electricity_price == 0.25
