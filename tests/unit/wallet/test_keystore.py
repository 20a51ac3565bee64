from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from engine.wallet import keystore
from engine.wallet.errors import KeystoreFormatError, WalletError, WrongPassphraseError
from engine.wallet.keys import SecretKey
from tests.unit.wallet.conftest import LIGHT_SCRYPT_N
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX, SPEC_KEY_HEX, SPEC_KEYSTORE, SPEC_PASSWORD


@pytest.fixture
def key() -> SecretKey:
    return SecretKey.from_hex(DEV_KEY_HEX)


@pytest.fixture
def exported(tmp_path: Path, key: SecretKey) -> Path:
    return keystore.write(tmp_path / "wallet.json", key, "pass phrase", scrypt_n=LIGHT_SCRYPT_N)


def _write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_spec_test_vector_decrypts_with_eth_account() -> None:
    assert bytes(Account.decrypt(SPEC_KEYSTORE, SPEC_PASSWORD)).hex() == SPEC_KEY_HEX


def test_keystore_written_by_another_tool_is_read(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "geth.json", SPEC_KEYSTORE)
    assert keystore.decrypt(path, SPEC_PASSWORD) == SecretKey.from_hex(SPEC_KEY_HEX)


def test_old_geth_capitalised_crypto_field_is_read(tmp_path: Path) -> None:
    data = {**SPEC_KEYSTORE, "Crypto": SPEC_KEYSTORE["crypto"]}
    del data["crypto"]
    path = _write_json(tmp_path / "old.json", data)
    assert keystore.decrypt(path, SPEC_PASSWORD).reveal_hex() == SPEC_KEY_HEX


def test_export_round_trips_and_is_readable_by_eth_account(exported: Path, key: SecretKey) -> None:
    assert keystore.decrypt(exported, "pass phrase") == key
    data = json.loads(exported.read_text())
    assert bytes(Account.decrypt(data, "pass phrase")).hex() == DEV_KEY_HEX
    assert data["version"] == 3 and data["address"] == DEV_ADDRESS[2:].lower()
    assert data["crypto"]["kdf"] == "scrypt" and data["crypto"]["cipher"] == "aes-128-ctr"


def test_export_file_is_private_to_the_user(exported: Path) -> None:
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600


def test_export_uses_geths_standard_scrypt_parameters_by_default(tmp_path: Path, key: SecretKey) -> None:
    params = keystore.encrypt(key, "pass phrase")["crypto"]["kdfparams"]
    assert (params["n"], params["r"], params["p"], params["dklen"]) == (262144, 8, 1, 32)


def test_export_refuses_an_empty_passphrase(tmp_path: Path, key: SecretKey) -> None:
    with pytest.raises(WalletError, match="empty passphrase"):
        keystore.write(tmp_path / "w.json", key, "", scrypt_n=LIGHT_SCRYPT_N)
    assert not (tmp_path / "w.json").exists()


def test_export_never_overwrites_a_file_unless_asked(exported: Path, key: SecretKey) -> None:
    before = exported.read_text()
    with pytest.raises(WalletError, match="already exists"):
        keystore.write(exported, key, "other", scrypt_n=LIGHT_SCRYPT_N)
    assert exported.read_text() == before
    keystore.write(exported, key, "other", scrypt_n=LIGHT_SCRYPT_N, overwrite=True)
    assert keystore.decrypt(exported, "other") == key


def test_wrong_passphrase_is_named_as_such(exported: Path) -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase") as err:
        keystore.decrypt(exported, "not it")
    assert str(exported) in str(err.value)


def test_file_that_is_not_json_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"version": 3,')
    with pytest.raises(KeystoreFormatError, match="not valid JSON"):
        keystore.decrypt(path, "x")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeystoreFormatError, match="no such file"):
        keystore.decrypt(tmp_path / "absent.json", "x")


@pytest.mark.parametrize(
    ("drop", "where"),
    [
        (("crypto",), "crypto"),
        (("version",), "version"),
        (("crypto", "mac"), "crypto.mac"),
        (("crypto", "ciphertext"), "crypto.ciphertext"),
        (("crypto", "cipherparams"), "crypto.cipherparams"),
        (("crypto", "kdfparams", "salt"), "crypto.kdfparams.salt"),
    ],
)
def test_missing_field_is_named(exported: Path, drop: tuple[str, ...], where: str) -> None:
    data = json.loads(exported.read_text())
    parent = data
    for part in drop[:-1]:
        parent = parent[part]
    del parent[drop[-1]]
    _write_json(exported, data)
    with pytest.raises(KeystoreFormatError, match=f"field '{where}'"):
        keystore.decrypt(exported, "pass phrase")


def test_malformed_mac_is_a_format_error(exported: Path) -> None:
    data = json.loads(exported.read_text())
    data["crypto"]["mac"] = "not-hex"
    _write_json(exported, data)
    with pytest.raises(KeystoreFormatError, match=r"crypto.mac"):
        keystore.decrypt(exported, "pass phrase")


def test_altered_mac_fails_the_integrity_check(exported: Path) -> None:
    data = json.loads(exported.read_text())
    mac = data["crypto"]["mac"]
    data["crypto"]["mac"] = ("0" if mac[0] != "0" else "1") + mac[1:]
    _write_json(exported, data)
    with pytest.raises(WrongPassphraseError, match="the file was altered"):
        keystore.decrypt(exported, "pass phrase")


def test_keystore_declaring_another_address_is_refused(exported: Path) -> None:
    data = json.loads(exported.read_text())
    data["address"] = "00" * 20
    _write_json(exported, data)
    with pytest.raises(KeystoreFormatError, match="declares address"):
        keystore.decrypt(exported, "pass phrase")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"version": 4}, "version"),
        ({"crypto": {**SPEC_KEYSTORE["crypto"], "cipher": "aes-128-cbc"}}, "crypto.cipher"),
        ({"crypto": {**SPEC_KEYSTORE["crypto"], "kdf": "argon2"}}, "crypto.kdf"),
        ({"crypto": {**SPEC_KEYSTORE["crypto"], "kdfparams": {**SPEC_KEYSTORE["crypto"]["kdfparams"], "n": 1000}}},
         "power of two"),
        ({"crypto": {**SPEC_KEYSTORE["crypto"], "kdfparams": {**SPEC_KEYSTORE["crypto"]["kdfparams"], "n": 1 << 30}}},
         "more than 1 GiB"),
    ],
)
def test_unsupported_or_hostile_parameters_are_refused_before_decrypting(
    tmp_path: Path, change: dict, problem: str
) -> None:
    path = _write_json(tmp_path / "ks.json", {**SPEC_KEYSTORE, **change})
    with pytest.raises(KeystoreFormatError, match=problem):
        keystore.decrypt(path, SPEC_PASSWORD)


def test_json_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreFormatError, match="not an object"):
        keystore.decrypt(_write_json(tmp_path / "list.json", [1, 2]), "x")
