"""The wallet window on real parts: the OS keyring (a private gnome-keyring), keystore files,
anvil for the balance. A scripted ``Prompts`` answers the questions a person would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import segno
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from web3 import Web3

from app.passphrase import PassphraseDialog
from app.qr import address_uri
from app.wallet_window import Prompts, WalletWindow
from engine.chain.anvil import free_port, rpc
from engine.chain.settings import NetworkSettings, save_network
from engine.wallet import identity, keystore, store
from engine.wallet.errors import KeystoreFormatError, WrongPassphraseError
from engine.wallet.keys import SecretKey
from tests.gui.keystores import CHEAP_SCRYPT_N, PASSPHRASE

if TYPE_CHECKING:
    from tests.gui.settings_fixtures import KeystoreWallet

pytest_plugins = ["tests.gui.settings_fixtures"]


@dataclass
class ScriptedPrompts(Prompts):
    """The user's answers, given in advance; records what was asked."""

    export_to: Path | None = None
    import_from: Path | None = None
    new: str | None = "new passphrase for the export"
    unlock: str | None = PASSPHRASE
    replace: bool = False
    asked: list[str] = field(default_factory=list)

    def export_path(self) -> Path | None:
        return self.export_to

    def import_path(self) -> Path | None:
        return self.import_from

    def new_passphrase(self) -> str | None:
        return self.new

    def passphrase(self, path: Path) -> str | None:
        self.asked.append(f"passphrase of {path}")
        return self.unlock

    def confirm(self, question: str) -> bool:
        self.asked.append(question)
        return self.replace


def _window(qtbot: QtBot, prompts: ScriptedPrompts | None = None, balance=None) -> WalletWindow:  # type: ignore[no-untyped-def]
    window = WalletWindow(balance=balance, prompts=prompts or ScriptedPrompts(), scrypt_n=CHEAP_SCRYPT_N)
    qtbot.addWidget(window)
    window.show()
    return window


def _other_keystore(tmp_path: Path, passphrase: str = "another passphrase") -> tuple[str, Path]:
    key = SecretKey.generate()
    path = keystore.write(tmp_path / "other.json", key, passphrase, scrypt_n=CHEAP_SCRYPT_N)
    return key.address, path


def test_without_a_wallet_it_offers_to_create_one(qtbot: QtBot, os_keyring: str) -> None:
    window = _window(qtbot)
    assert window.address is None
    assert "no wallet yet" in window.location_label.text()
    assert window.create_button.isVisible() and not window.export_button.isEnabled()
    assert window.backend_label.text() == "your desktop's keyring (Secret Service)"  # no module paths
    assert "SecretService" in window.backend_label.toolTip()


def test_create_keeps_the_key_in_the_keyring_and_shows_address_and_qr(qtbot: QtBot, os_keyring: str) -> None:
    window = _window(qtbot)
    with qtbot.waitSignal(window.wallet_changed) as changed:
        window.create_button.click()
    address = changed.args[0]
    assert address == identity.current().address == window.address_label.text()
    assert store.load(address) is not None
    assert window.location_label.text().startswith("OS keyring: ")
    assert not window.create_button.isVisible()
    size = segno.make(address_uri(address), error="m").symbol_size(scale=6, border=2)
    assert (window.qr_label.pixmap().width(), window.qr_label.pixmap().height()) == size
    window.copy_button.click()
    assert QGuiApplication.clipboard().text() == address


def test_balance_comes_from_the_chain(qtbot: QtBot, chain: Web3, custom_network: NetworkSettings,
                                      keystore_wallet: KeystoreWallet) -> None:
    save_network(custom_network)
    rpc(chain, "anvil_setBalance", keystore_wallet.address, hex(3 * 10**18 // 2))
    from app.wallet_window import read_balance

    window = _window(qtbot, balance=read_balance)
    qtbot.waitUntil(lambda: "devnet" in window.balance_label.text(), timeout=15_000)
    assert window.balance_label.text() == "1.5 ETH on the local test network (devnet)"


def test_an_unreachable_node_leaves_the_balance_unknown(qtbot: QtBot, keystore_wallet: KeystoreWallet) -> None:
    from app.wallet_window import read_balance

    save_network(NetworkSettings(rpc_url=f"http://127.0.0.1:{free_port()}",
                                 market_address="0x000000000000000000000000000000000000dEaD"))
    window = _window(qtbot, balance=lambda a: read_balance(a, timeout=1.0))
    qtbot.waitUntil(lambda: window.balance_label.text().startswith("unknown"), timeout=15_000)
    assert "unreachable" in window.balance_label.text()
    assert window.address == keystore_wallet.address  # the rest of the window still works


def test_export_writes_a_keystore_that_opens_with_the_new_passphrase(
    qtbot: QtBot, tmp_path: Path, keystore_wallet: KeystoreWallet
) -> None:
    prompts = ScriptedPrompts(export_to=tmp_path / "backup.json")
    window = _window(qtbot, prompts)
    assert "keystore file" in window.location_label.text()
    window.export_button.click()
    assert window.last_error is None, window.error_label.text()
    assert keystore.decrypt(tmp_path / "backup.json", prompts.new).address == keystore_wallet.address
    assert prompts.asked == [f"passphrase of {keystore_wallet.path}"]  # the current file had to be unlocked
    assert "backup.json" in window.status_label.text()
    assert (tmp_path / "backup.json").stat().st_mode & 0o077 == 0


def test_export_with_the_wrong_unlock_passphrase_says_so(
    qtbot: QtBot, tmp_path: Path, keystore_wallet: KeystoreWallet
) -> None:
    window = _window(qtbot, ScriptedPrompts(export_to=tmp_path / "backup.json", unlock="not it"))
    assert window.export_wallet() is None
    assert isinstance(window.last_error, WrongPassphraseError)
    assert "wrong passphrase" in window.error_label.text()
    assert not (tmp_path / "backup.json").exists()


def test_export_never_overwrites_a_file(qtbot: QtBot, tmp_path: Path, keystore_wallet: KeystoreWallet) -> None:
    (tmp_path / "taken.json").write_text("{}")
    window = _window(qtbot, ScriptedPrompts(export_to=tmp_path / "taken.json"))
    window.export_wallet()
    assert "already exists" in window.error_label.text()
    assert (tmp_path / "taken.json").read_text() == "{}"


def test_import_copies_the_key_into_the_keyring(qtbot: QtBot, tmp_path: Path, os_keyring: str) -> None:
    address, path = _other_keystore(tmp_path)
    window = _window(qtbot, ScriptedPrompts(import_from=path, unlock="another passphrase"))
    assert window.import_to_keyring.isChecked()
    assert window.import_wallet() == address
    assert identity.current().address == address and identity.current().keystore is None
    assert store.load(address) is not None
    assert window.address_label.text() == address


def test_importing_over_another_wallet_asks_first(
    qtbot: QtBot, tmp_path: Path, keystore_wallet: KeystoreWallet
) -> None:
    address, path = _other_keystore(tmp_path)
    prompts = ScriptedPrompts(import_from=path, unlock="another passphrase", replace=False)
    window = _window(qtbot, prompts)
    window.import_to_keyring.setChecked(False)
    assert window.import_wallet() is None
    assert "already set up" in prompts.asked[-1]
    assert identity.current().address == keystore_wallet.address
    prompts.replace = True
    assert window.import_wallet() == address
    assert identity.current().keystore == path.resolve()


def test_importing_a_file_that_is_not_a_keystore_is_refused(qtbot: QtBot, tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text(json.dumps({"hello": "world"}))
    window = _window(qtbot, ScriptedPrompts(import_from=bad))
    window.import_to_keyring.setChecked(False)
    assert window.import_wallet() is None
    assert isinstance(window.last_error, KeystoreFormatError)
    assert "keystore v3" in window.error_label.text()
    assert window.address is None


def test_an_insecure_keyring_is_named_and_imports_keep_the_file(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    keyring.core.init_backend()
    try:
        address, path = _other_keystore(tmp_path)
        window = _window(qtbot, ScriptedPrompts(import_from=path, unlock="another passphrase"))
        assert window.backend_label.text().startswith("not usable: refusing to keep the private key")
        assert not window.import_to_keyring.isEnabled()
        assert window.import_wallet() == address
        assert "keystore file" in window.location_label.text()
    finally:
        monkeypatch.undo()
        keyring.core.init_backend()


def test_a_wallet_whose_key_left_the_keyring_says_how_to_fix_it(qtbot: QtBot, os_keyring: str) -> None:
    info = identity.create()
    store.delete(info.address)
    window = _window(qtbot)
    assert window.address == info.address
    assert "not in the keyring" in window.error_label.text()
    assert "import it again" in window.error_label.text()


def test_new_passphrases_must_match_and_be_long_enough(qtbot: QtBot) -> None:
    dialog = PassphraseDialog("Protect", "Choose one", confirm=True)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.first.setText("short")
    dialog.second.setText("short")
    dialog.accept()
    assert "at least 8 characters" in dialog.problem.text() and dialog.isVisible()
    dialog.first.setText("long enough words")
    dialog.second.setText("long enough word")
    dialog.accept()
    assert dialog.problem.text() == "the two passphrases differ" and dialog.isVisible()
    dialog.second.setText("long enough words")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.passphrase() == "long enough words"
