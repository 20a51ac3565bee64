"""Signing for engine/chain: transactions (with a chain id) and EIP-191 messages.

A :class:`Signer` holds the key without ever showing it; engine/chain either signs raw
transactions itself (:meth:`Signer.sign_transaction` -> ``raw_transaction`` + ``hash``) or
lets web3.py do it through :meth:`Signer.middleware`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import encode_defunct
from eth_utils.address import to_checksum_address

from engine.wallet.errors import WalletError
from engine.wallet.keys import SecretKey

if TYPE_CHECKING:
    from web3 import Web3


class Signer:
    """Signs for one address. ``chain_id``, when given, is filled into transactions that
    lack one and any other chain id is refused, so a transaction cannot be replayed on
    another network by mistake."""

    __slots__ = ("_account", "address", "chain_id")

    def __init__(self, key: SecretKey, *, chain_id: int | None = None) -> None:
        self._account = key.account()
        self.address: str = key.address
        self.chain_id = chain_id

    def sign_transaction(self, tx: Mapping[str, Any]) -> SignedTransaction:
        """Sign a transaction dict (web3 field names: nonce, gas, to, value, data, chainId,
        maxFeePerGas... or gasPrice). Returns eth-account's ``SignedTransaction``: send
        ``.raw_transaction`` with ``eth_sendRawTransaction``; ``.hash`` is its hash."""
        tx = dict(tx)
        sender = tx.pop("from", None)
        if sender is not None and to_checksum_address(sender) != self.address:
            raise WalletError(
                f"transaction 'from' {sender} is not this wallet's address {self.address}",
                hint="send it from the wallet's address, or load the signer of that address",
            )
        if self.chain_id is not None:
            chain = tx.setdefault("chainId", self.chain_id)
            if chain != self.chain_id:
                raise WalletError(
                    f"transaction chainId {chain} differs from the signer's chain id {self.chain_id}",
                    hint="check the network in the settings (rpc_url) against the transaction",
                )
        elif "chainId" not in tx:
            raise WalletError(
                "refusing to sign a transaction without a chainId (it could be replayed on any chain)",
                hint="give the transaction a chainId, or load the signer with chain_id=...",
            )
        try:
            return self._account.sign_transaction(tx)
        except Exception as e:  # malformed fields: eth-account's message names them, never the key
            raise WalletError(
                f"cannot sign the transaction: {type(e).__name__}: {e}",
                hint="check the transaction fields (nonce, gas, fees, to, value, data, chainId)",
            ) from None

    def sign_message(self, text: str | bytes) -> SignedMessage:
        """EIP-191 ``personal_sign`` signature of ``text`` (what ``eth_sign`` wallets show)."""
        message = encode_defunct(text=text) if isinstance(text, str) else encode_defunct(primitive=text)
        return self._account.sign_message(message)

    def middleware(self) -> Any:
        """A web3.py v8 middleware that signs this address's ``eth_sendTransaction`` locally
        and sends it raw: ``w3.middleware_onion.inject(signer.middleware(), layer=0)``."""
        from web3.middleware import SignAndSendRawMiddlewareBuilder

        return SignAndSendRawMiddlewareBuilder.build(self._account)

    def attach(self, w3: Web3) -> None:
        """Install :meth:`middleware` in ``w3`` and make this address its default account."""
        w3.middleware_onion.inject(self.middleware(), name="idlegrid_signer", layer=0)
        w3.eth.default_account = to_checksum_address(self.address)  # already checksummed: unchanged

    def __repr__(self) -> str:
        return f"Signer(address={self.address}, chain_id={self.chain_id})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer cannot be pickled (it would write the key in the clear)")
