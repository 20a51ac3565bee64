from __future__ import annotations

import copy
import pickle

import pytest

from engine.errors import UsageError
from engine.wallet.keys import SecretKey
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX


@pytest.mark.parametrize("text", [DEV_KEY_HEX, "0x" + DEV_KEY_HEX, DEV_KEY_HEX.upper(), f"  {DEV_KEY_HEX}\n"])
def test_hex_key_is_accepted_with_or_without_0x_and_whitespace(text: str) -> None:
    assert SecretKey.from_hex(text).address == DEV_ADDRESS


@pytest.mark.parametrize("text", ["", "0x", DEV_KEY_HEX[:-1], DEV_KEY_HEX + "0", "zz" + DEV_KEY_HEX[2:]])
def test_malformed_hex_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(UsageError) as err:
        SecretKey.from_hex(text)
    assert DEV_KEY_HEX[:16] not in str(err.value)


@pytest.mark.parametrize("text", ["0" * 64, "f" * 64])
def test_key_outside_the_curve_order_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="not a valid secp256k1 key"):
        SecretKey.from_hex(text)


def test_repr_and_str_show_the_address_never_the_key() -> None:
    key = SecretKey.from_hex(DEV_KEY_HEX)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert DEV_ADDRESS in text
        assert DEV_KEY_HEX not in text.lower()


def test_secret_key_refuses_to_be_pickled_or_copied() -> None:
    key = SecretKey.from_hex(DEV_KEY_HEX)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.copy(key)


def test_generated_keys_differ_and_compare_by_value() -> None:
    a, b = SecretKey.generate(), SecretKey.generate()
    assert a != b
    assert SecretKey.from_hex(a.reveal_hex()) == a
