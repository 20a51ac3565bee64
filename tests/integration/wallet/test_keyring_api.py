"""The Python API that engine/chain and the app use, against a real Secret Service."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from eth_account import Account

from engine.wallet import identity, keystore, load_signer, settings
from engine.wallet.errors import NoWalletError
from engine.wallet.keys import SecretKey
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX

TX = {"nonce": 3, "to": DEV_ADDRESS, "value": 1, "gas": 21000, "gasPrice": 10**9}


def test_keyring_is_keyrings_own_choice_of_the_secret_service() -> None:
    assert type(keyring.get_keyring()).__module__ == "keyring.backends.SecretService"
    assert identity.store.describe().startswith("OS keyring: SecretService Keyring")


def test_api_round_trip_and_signing(tmp_path: Path) -> None:
    created = identity.create()
    assert identity.info() == created
    signer = load_signer(chain_id=31337)
    assert signer.address == created.address == settings.load().address
    signed = signer.sign_transaction(TX)
    assert Account.recover_transaction(signed.raw_transaction) == created.address

    out = identity.export(tmp_path / "w.json", "pw", scrypt_n=1024)
    identity.delete()
    with pytest.raises(NoWalletError):
        load_signer()
    identity.keep_in_keyring(keystore.decrypt(out, "pw"))
    assert load_signer(chain_id=31337).sign_transaction(TX) == signed


def test_key_never_reaches_logs_or_output(caplog: pytest.LogCaptureFixture, capsys, idlegrid_home: Path) -> None:
    caplog.set_level(logging.DEBUG)
    key = SecretKey.from_hex(DEV_KEY_HEX)
    identity.keep_in_keyring(key)
    signer = load_signer(chain_id=1)
    logging.getLogger("test").info("loaded %r %s %r", signer, signer, identity.load_key())
    (idlegrid_home / "tmp").mkdir()
    identity.export(idlegrid_home / "tmp" / "w.json", "pw", scrypt_n=1024)
    identity.delete()
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err]
    texts += [p.read_bytes().decode("latin-1") for p in idlegrid_home.rglob("*") if p.is_file()]
    assert DEV_ADDRESS in caplog.text
    for text in texts:
        assert DEV_KEY_HEX not in text.lower()
