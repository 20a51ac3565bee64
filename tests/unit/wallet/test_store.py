from __future__ import annotations

import keyring
import pytest
from keyring.backends import chainer

from engine.wallet import store
from engine.wallet.errors import InsecureKeyringError, KeyringError
from engine.wallet.keys import SecretKey
from tests.unit.wallet.backends import MemoryKeyring, PlaintextKeyring
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX


@pytest.mark.parametrize(
    ("backend", "problem"),
    [
        ("keyring.backends.fail.Keyring", "no secure backend"),
        ("keyring.backends.null.Keyring", "stores nothing"),
        ("tests.unit.wallet.backends.PlaintextKeyring", "plaintext"),
    ],
)
def test_insecure_backend_is_refused_with_the_fix(chosen_backend, backend: str, problem: str) -> None:
    chosen_backend(backend)
    with pytest.raises(InsecureKeyringError) as err:
        store.save(SecretKey.from_hex(DEV_KEY_HEX))
    message = str(err.value)
    assert backend in message and problem in message
    assert "start a Secret Service" in message and "--keystore FILE" in message


def test_backend_ranked_below_one_is_refused_whatever_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    class Obscure(MemoryKeyring):
        priority = 0.9

    monkeypatch.setattr(keyring.core, "_keyring_backend", Obscure())
    with pytest.raises(InsecureKeyringError, match=r"priority 0.9 < 1"):
        store.secure_backend()


def test_backend_that_cannot_load_names_the_setting_to_fix(chosen_backend) -> None:
    chosen_backend("no.such.module.Keyring")
    with pytest.raises(KeyringError, match="PYTHON_KEYRING_BACKEND"):
        store.secure_backend()


def test_chained_keyrings_keep_the_key_in_the_first_one_only(monkeypatch: pytest.MonkeyPatch) -> None:
    first, weak = MemoryKeyring(), PlaintextKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [first, weak])
    monkeypatch.setattr(keyring.core, "_keyring_backend", chainer.ChainerBackend())
    store.save(SecretKey.from_hex(DEV_KEY_HEX))
    assert first.entries == {("idlegrid", DEV_ADDRESS): DEV_KEY_HEX} and weak.entries == {}


def test_key_round_trips_one_entry_per_address(memory_keyring: MemoryKeyring) -> None:
    key = SecretKey.from_hex(DEV_KEY_HEX)
    store.save(key)
    assert memory_keyring.entries == {("idlegrid", DEV_ADDRESS): DEV_KEY_HEX}
    assert store.load(DEV_ADDRESS) == key
    assert store.delete(DEV_ADDRESS) is True
    assert store.load(DEV_ADDRESS) is None
    assert store.delete(DEV_ADDRESS) is False


def test_entry_holding_another_addresss_key_is_reported(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[("idlegrid", DEV_ADDRESS)] = "11" * 32
    with pytest.raises(KeyringError, match="does not hold the key of that address") as err:
        store.load(DEV_ADDRESS)
    assert "11" * 32 not in str(err.value)


def test_keyring_failure_names_the_operation_and_backend(memory_keyring: MemoryKeyring, monkeypatch) -> None:
    def locked(*args: object) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    monkeypatch.setattr(memory_keyring, "set_password", locked)
    with pytest.raises(KeyringError, match=r"could not store the key of .*MemoryKeyring.*unlock") as err:
        store.save(SecretKey.from_hex(DEV_KEY_HEX))
    assert DEV_KEY_HEX not in str(err.value)


def test_describe_names_the_backend(memory_keyring: MemoryKeyring) -> None:
    described = store.describe()
    assert described.startswith("OS keyring: ")
    assert "(tests.unit.wallet.backends.MemoryKeyring), service 'idlegrid'" in described
