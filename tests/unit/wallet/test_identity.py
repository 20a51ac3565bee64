from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import paths
from engine.errors import ConfigError
from engine.wallet import identity, keystore, load_signer, settings
from engine.wallet.errors import (
    InsecureKeyringError,
    NoWalletError,
    WalletError,
    WalletExistsError,
    WrongPassphraseError,
)
from engine.wallet.keys import SecretKey
from tests.unit.wallet.backends import MemoryKeyring
from tests.unit.wallet.conftest import LIGHT_SCRYPT_N
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX


def test_no_wallet_says_how_to_make_one() -> None:
    with pytest.raises(NoWalletError, match="idlegrid wallet create"):
        identity.info()


def test_create_stores_the_key_and_remembers_the_address(memory_keyring: MemoryKeyring) -> None:
    created = identity.create()
    assert settings.load().address == created.address
    assert list(memory_keyring.entries) == [("idlegrid", created.address)]
    assert identity.info() == created
    assert load_signer().address == created.address


def test_create_over_an_existing_wallet_needs_replace(memory_keyring: MemoryKeyring) -> None:
    first = identity.create()
    with pytest.raises(WalletExistsError, match=f"{first.address}.*--replace"):
        identity.create()
    second = identity.create(replace=True)
    assert settings.load().address == second.address
    assert list(memory_keyring.entries) == [("idlegrid", second.address)]


def test_importing_the_same_key_again_is_harmless(memory_keyring: MemoryKeyring) -> None:
    key = SecretKey.from_hex(DEV_KEY_HEX)
    identity.keep_in_keyring(key)
    identity.keep_in_keyring(key)
    assert identity.load_key() == key


def test_insecure_keyring_changes_nothing(chosen_backend) -> None:
    chosen_backend("tests.unit.wallet.backends.PlaintextKeyring")
    with pytest.raises(InsecureKeyringError):
        identity.create()
    assert settings.load().address is None


def test_export_then_import_restores_the_same_key(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    key = SecretKey.from_hex(DEV_KEY_HEX)
    identity.keep_in_keyring(key)
    out = identity.export(tmp_path / "backup.json", "pw", scrypt_n=LIGHT_SCRYPT_N)
    identity.delete()
    assert memory_keyring.entries == {}
    with pytest.raises(NoWalletError):
        identity.info()
    identity.keep_in_keyring(keystore.decrypt(out, "pw"))
    assert identity.load_key() == key


def test_key_missing_from_the_keyring_is_reported_with_the_fix(memory_keyring: MemoryKeyring) -> None:
    created = identity.create()
    memory_keyring.entries.clear()
    with pytest.raises(WalletError, match=f"{created.address} is not in the keyring.*") as err:
        identity.info()
    assert "idlegrid wallet import" in str(err.value)


def test_keystore_mode_never_touches_the_keyring(chosen_backend, tmp_path: Path) -> None:
    chosen_backend("keyring.backends.fail.Keyring")
    key = SecretKey.from_hex(DEV_KEY_HEX)
    info = identity.keep_in_keystore(key, tmp_path / "k.json", "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert info.keystore == (tmp_path / "k.json").resolve()
    assert identity.info() == info
    assert load_signer("pw").address == DEV_ADDRESS
    assert load_signer(lambda: "pw").address == DEV_ADDRESS
    with pytest.raises(WrongPassphraseError):
        load_signer("nope")
    with pytest.raises(WalletError, match="passphrase is needed"):
        load_signer()
    deleted = identity.delete()
    assert "left on disk" in deleted.location and (tmp_path / "k.json").exists()
    assert settings.load().address is None


def test_use_keystore_checks_the_passphrase_first(chosen_backend, tmp_path: Path) -> None:
    chosen_backend("keyring.backends.fail.Keyring")
    path = keystore.write(tmp_path / "k.json", SecretKey.from_hex(DEV_KEY_HEX), "pw", scrypt_n=LIGHT_SCRYPT_N)
    with pytest.raises(WrongPassphraseError):
        identity.use_keystore(path, "wrong")
    assert settings.load().address is None
    assert identity.use_keystore(path, "pw").address == DEV_ADDRESS


def test_replacing_a_keyring_wallet_removes_its_entry(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    old = identity.create()
    with pytest.raises(WalletExistsError):
        identity.keep_in_keystore(SecretKey.from_hex(DEV_KEY_HEX), tmp_path / "k.json", "pw", scrypt_n=LIGHT_SCRYPT_N)
    assert not (tmp_path / "k.json").exists()
    identity.keep_in_keystore(SecretKey.from_hex(DEV_KEY_HEX), tmp_path / "k.json", "pw",
                              replace=True, scrypt_n=LIGHT_SCRYPT_N)
    assert ("idlegrid", old.address) not in memory_keyring.entries


def test_a_bad_address_in_the_settings_names_the_key() -> None:
    settings_file = paths().settings_file
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('[wallet]\naddress = "0x1234"\n')
    with pytest.raises(ConfigError, match=r"\[wallet.address\]"):
        identity.info()


def test_unknown_settings_key_is_refused() -> None:
    settings_file = paths().settings_file
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('[wallet]\nprivate_key = "00"\n')
    with pytest.raises(ConfigError, match=r"\[wallet.private_key\]"):
        settings.load()
