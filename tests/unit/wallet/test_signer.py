from __future__ import annotations

import pickle
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3
from web3.providers.base import BaseProvider

from engine.wallet.errors import WalletError
from engine.wallet.keys import SecretKey
from engine.wallet.signer import Signer
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX

TX = {
    "nonce": 0,
    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "value": 10**15,
    "gas": 21000,
    "maxFeePerGas": 2 * 10**9,
    "maxPriorityFeePerGas": 10**9,
    "data": b"",
}


@pytest.fixture
def signer() -> Signer:
    return Signer(SecretKey.from_hex(DEV_KEY_HEX), chain_id=31337)


def test_signed_transaction_recovers_to_the_wallet_on_its_chain(signer: Signer) -> None:
    signed = signer.sign_transaction(TX)
    assert isinstance(signed.raw_transaction, bytes) and len(signed.hash) == 32
    assert Account.recover_transaction(signed.raw_transaction) == DEV_ADDRESS
    assert Web3.keccak(signed.raw_transaction) == signed.hash
    assert signed == Account.sign_transaction({**TX, "chainId": 31337}, "0x" + DEV_KEY_HEX)


def test_transaction_for_another_chain_is_refused(signer: Signer) -> None:
    with pytest.raises(WalletError, match="chainId 1 differs from the signer's chain id 31337"):
        signer.sign_transaction({**TX, "chainId": 1})


def test_transaction_without_any_chain_id_is_refused() -> None:
    with pytest.raises(WalletError, match="without a chainId"):
        Signer(SecretKey.from_hex(DEV_KEY_HEX)).sign_transaction(TX)


def test_transaction_from_another_address_is_refused(signer: Signer) -> None:
    with pytest.raises(WalletError, match="is not this wallet's address"):
        signer.sign_transaction({**TX, "from": TX["to"]})
    assert signer.sign_transaction({**TX, "from": DEV_ADDRESS.lower()}).raw_transaction


def test_malformed_transaction_is_a_wallet_error_without_the_key(signer: Signer) -> None:
    with pytest.raises(WalletError, match="cannot sign the transaction") as err:
        signer.sign_transaction({**TX, "gas": "lots"})
    assert DEV_KEY_HEX not in str(err.value)


def test_message_signature_recovers_to_the_wallet(signer: Signer) -> None:
    signed = signer.sign_message("idlegrid login 42")
    assert Account.recover_message(encode_defunct(text="idlegrid login 42"), signature=signed.signature) == DEV_ADDRESS
    raw = signer.sign_message(b"\x01\x02")
    assert Account.recover_message(encode_defunct(primitive=b"\x01\x02"), signature=raw.signature) == DEV_ADDRESS


def test_signer_never_shows_or_pickles_its_key(signer: Signer) -> None:
    assert repr(signer) == f"Signer(address={DEV_ADDRESS}, chain_id=31337)"
    assert DEV_KEY_HEX not in str(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)


class RecordingProvider(BaseProvider):
    """Answers just what web3 asks before sending; records what it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def make_request(self, method: str, params: Any) -> dict[str, Any]:
        self.calls.append((method, params))
        answers = {
            "eth_chainId": "0x7a69",
            "eth_getBlockByNumber": {"number": "0x1", "baseFeePerGas": "0x1"},
            "eth_getTransactionCount": "0x5",
            "eth_sendRawTransaction": "0x" + "ab" * 32,
        }
        return {"jsonrpc": "2.0", "id": 1, "result": answers[method]}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def test_web3_middleware_signs_send_transaction_locally(signer: Signer) -> None:
    provider = RecordingProvider()
    w3 = Web3(provider)
    signer.attach(w3)
    tx = {k: v for k, v in TX.items() if k != "nonce"}
    w3.eth.send_transaction(tx)
    sent = [params for method, params in provider.calls if method == "eth_sendRawTransaction"]
    assert "eth_sendTransaction" not in [method for method, _ in provider.calls]
    assert len(sent) == 1
    raw = bytes.fromhex(sent[0][0][2:])
    assert Account.recover_transaction(raw) == DEV_ADDRESS
    assert w3.eth.default_account == DEV_ADDRESS
