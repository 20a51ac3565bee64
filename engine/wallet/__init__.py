"""The wallet: the worker's Ethereum key in the OS keyring (or an encrypted keystore v3
file), import/export in geth's format, and signing for engine/chain.

Public API::

    from engine.wallet import load_signer, Signer
    signer = load_signer(chain_id=31337)          # key from the keyring
    signer = load_signer(getpass.getpass, chain_id=1)  # when it lives in a keystore file
    signed = signer.sign_transaction(tx)          # .raw_transaction, .hash
    signer.attach(w3)                             # or: web3 signs eth_sendTransaction
"""

from engine.wallet.errors import (
    InsecureKeyringError,
    KeyringError,
    KeystoreFormatError,
    NoWalletError,
    WalletError,
    WalletExistsError,
    WrongPassphraseError,
)
from engine.wallet.identity import WalletInfo, info, load_key, load_signer
from engine.wallet.keys import SecretKey
from engine.wallet.signer import Signer

__all__ = [
    "InsecureKeyringError",
    "KeyringError",
    "KeystoreFormatError",
    "NoWalletError",
    "SecretKey",
    "Signer",
    "WalletError",
    "WalletExistsError",
    "WalletInfo",
    "WrongPassphraseError",
    "info",
    "load_key",
    "load_signer",
]
